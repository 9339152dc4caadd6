import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { admiral, makeLaptop, shipFingerprint } from '../../helpers/admiral.js';
import { gitIn } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** `starphleet hq init <dir>`: a new HQ that passes `hq check` and that a ship serves with no network. */
const root = tmpDir('sp-admiral-hq-');
const key = makeKey(root, 'laptop-key');
const laptop = makeLaptop(key);
mkdirSync(join(laptop.home, '.ssh'), { recursive: true });
copyFileSync(key.publicPath, join(laptop.home, '.ssh', 'id_ed25519.pub'));
let ship: ShipProcess | undefined;

after(async () => {
  await ship?.stop();
  if (ship) await killRecordedInstances(ship.dataDir);
});

describe('starphleet hq init', () => {
  const hq = join(root, 'hq');

  it('makes a git repo with commented orders, the user\'s key, .starphleet and a README; hq check passes', async () => {
    const r = await admiral(laptop, ['hq', 'init', hq]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /new headquarters in .*: orders deploys the bundled hello example/);
    assert.deepEqual(readdirSync(hq).sort(), ['.git', '.starphleet', 'README.md', 'authorized_keys', 'orders']);
    assert.equal(gitIn(hq, 'status', '--porcelain'), '', 'everything is committed');
    assert.equal(gitIn(hq, 'rev-parse', '--abbrev-ref', 'HEAD'), 'master');
    const keys = readdirSync(join(hq, 'authorized_keys'));
    assert.equal(keys.length, 1);
    assert.equal(readFileSync(join(hq, 'authorized_keys', keys[0] as string), 'utf8'), `${key.pub}\n`);
    const orders = readFileSync(join(hq, 'orders'), 'utf8');
    assert.match(orders, /^# /, 'the orders file explains itself');
    assert.match(orders, /^autodeploy '.*#example-hello'$/m);
    const phleet = readFileSync(join(hq, '.starphleet'), 'utf8');
    assert.ok(phleet.split('\n').every((l) => l === '' || l.startsWith('#')), '.starphleet sets nothing, only comments');
    assert.deepEqual(gitIn(hq, 'ls-tree', '--name-only', 'example-hello').split('\n').sort(), ['healthcheck', 'package.json', 'server.js']);

    const check = await admiral(laptop, ['hq', 'check', hq]);
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.match(check.stdout, /\/ -> .*#example-hello/);
    assert.ok(check.stdout.includes(key.fingerprint), check.stdout);
    assert.doesNotMatch(check.stdout, /problems:/);
  });

  it('refuses a directory that is not empty, and a key file that is not a key, changing nothing', async () => {
    const busy = join(root, 'busy');
    mkdirSync(busy);
    writeFileSync(join(busy, 'mine.txt'), 'keep me\n');
    const r = await admiral(laptop, ['hq', 'init', busy]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /exists and is not empty/);
    assert.deepEqual(readdirSync(busy), ['mine.txt']);

    writeFileSync(join(root, 'not-a-key.pub'), 'hello\n');
    const bad = await admiral(laptop, ['hq', 'init', join(root, 'fresh'), '--key', join(root, 'not-a-key.pub')]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not-a-key\.pub: not a usable public key/);
    assert.deepEqual(readdirSync(root).includes('fresh') ? readdirSync(join(root, 'fresh')) : [], []);
  });

  it('a ship on it serves the example, and its admiral drives it from the laptop', async () => {
    ship = await startShip({ headquarters: hq, dataDir: join(root, 'data') });
    await ship.waitForLog(/ssh listening on/);
    const port = ship.httpPort;
    const served = await waitFor(
      async () => {
        const r = await httpGet(port, '/');
        return r.status === 200 ? r : null;
      },
      () => `the example at / (ship output: ${ship?.output().slice(-2000)})`,
      180_000,
      250,
    );
    assert.match(served.body, /Hello from starphleet!/);
    assert.match(served.body, /greeting: hello from a new headquarters/, 'the orders env reaches the service');

    const add = await admiral(laptop, ['remote', 'add', 'home', `admiral@127.0.0.1:${ship.sshPort}`, '--fingerprint', shipFingerprint(ship.dataDir)]);
    assert.equal(add.code, 0, add.stderr);
    assert.equal(add.stderr, '', 'the key hq init put in authorized_keys/ logs in');
    const status = await admiral(laptop, ['-s', 'home', 'status']);
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /serving/);
    const releases = await admiral(laptop, ['-s', 'home', 'releases', 'root']);
    assert.equal(releases.code, 0, releases.stderr);
    assert.match(releases.stdout, /[0-9]{14}-[0-9a-f]{7}/, 'the release that serves is listed');
    const logs = await admiral(laptop, ['-s', 'home', 'logs', 'root']);
    assert.equal(logs.code, 0, logs.stderr);
    assert.match(logs.stdout, /hello listening on/);
  });
});
