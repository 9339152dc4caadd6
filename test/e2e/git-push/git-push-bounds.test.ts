import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { gitIn, initRepo } from '../../helpers/git.js';
import { runGit } from '../../helpers/git-push.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * Pushes as a hostile pusher would size them: a pack past STARPHLEET_PUSH_MAX_BYTES, and a blob bomb (a small pack
 * whose tree inflates past STARPHLEET_PUSH_MAX_CHECKOUT_BYTES). Both are refused naming the limit, nothing is checked
 * out or stored, and the ship keeps serving its service meanwhile.
 */
describe('git push: bounded pushes', () => {
  const root = tmpDir('sp-pushbound-');
  let ship: ShipProcess;
  let admiral: TestKey;
  let base: string;
  const serving = async (): Promise<boolean> => (await httpGet(ship.httpPort, '/site/').catch(() => null))?.status === 200;

  before(async () => {
    admiral = makeKey(root, 'admiral');
    fixtureRepo('static-site', join(root, 'site'));
    initRepo(join(root, 'hq'), { 'authorized_keys/admiral': admiral.pub, 'site/orders': `autodeploy ${join(root, 'site')}\n` });
    ship = await startShip({
      headquarters: join(root, 'hq'),
      dataDir: join(root, 'data'),
      httpPort: await freePort(),
      env: { STARPHLEET_PUSH_MAX_BYTES: String(1024 * 1024), STARPHLEET_PUSH_MAX_CHECKOUT_BYTES: String(16 * 1024 * 1024) },
    });
    await ship.waitForLog(/ssh listening on/, 60_000);
    base = `ssh://git@127.0.0.1:${ship.sshPort}`;
    await waitFor(serving, 'the ship serves /site/', 240_000, 500);
  });
  after(async () => {
    await ship?.stop();
    await killRecordedInstances(join(root, 'data'));
  });

  it('a pack past STARPHLEET_PUSH_MAX_BYTES is refused naming the limit; nothing is stored', async () => {
    const app = join(root, 'big');
    initRepo(app, { 'index.html': '<h1>big</h1>\n' });
    // Random bytes do not compress: the pack is as large as the file.
    writeFileSync(join(app, 'noise.bin'), randomBytes(3 * 1024 * 1024));
    gitIn(app, 'add', '-A');
    gitIn(app, 'commit', '-q', '-m', 'noise');
    const r = await runGit(['push', `${base}/big`, 'master'], { cwd: app, key: admiral.privatePath });
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /starphleet: the push is larger than STARPHLEET_PUSH_MAX_BYTES \(1048576 bytes\): refused, nothing was stored/);
    const refs = await runGit(['ls-remote', `${base}/big`], { cwd: root, key: admiral.privatePath });
    assert.doesNotMatch(refs.stdout, /refs\/heads\/master/);
    const stored = Number(execFileSync('du', ['-sb', join(root, 'data', 'push')], { encoding: 'utf8' }).split('\t')[0]);
    assert.ok(stored < 1024 * 1024, `the push dir holds ${stored} bytes`);
    assert.ok(await serving(), 'the ship keeps serving');
  });

  it('a blob bomb (a small pack inflating past STARPHLEET_PUSH_MAX_CHECKOUT_BYTES) is refused before any checkout', async () => {
    const app = join(root, 'bomb');
    mkdirSync(app);
    initRepo(app, { 'index.html': '<h1>bomb</h1>\n' });
    writeFileSync(join(app, 'zeros.bin'), Buffer.alloc(48 * 1024 * 1024));
    gitIn(app, 'add', '-A');
    gitIn(app, 'commit', '-q', '-m', 'zeros');
    const r = await runGit(['push', `${base}/bomb`, 'master'], { cwd: app, key: admiral.privatePath });
    assert.notEqual(r.code, 0, r.stderr);
    assert.match(r.stderr, /the pushed tree at [0-9a-f]{7} holds more than 16777216 bytes \(STARPHLEET_PUSH_MAX_CHECKOUT_BYTES\) in its first \d+ files: refused before anything is checked out/);
    const refs = await runGit(['ls-remote', `${base}/bomb`], { cwd: root, key: admiral.privatePath });
    assert.doesNotMatch(refs.stdout, /refs\/heads\/master/, 'the ref did not move');
    assert.ok(await serving(), 'the ship keeps serving');
    const st = await runSsh({ key: admiral.privatePath, port: ship.sshPort, args: ['starphleet', 'status'], timeoutMs: 60_000 });
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout.toString(), /site +\/site +serving/);
  });
});
