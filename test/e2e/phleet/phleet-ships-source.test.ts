import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { admiral, makeLaptop } from '../../helpers/admiral.js';
import { gitIn, initRepo } from '../../helpers/git.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * With STARPHLEET_WRITEBACK the ships write their entries into a repository of their own: the admiral's `hq check`
 * and `secrets` must read the ships there (cloned from the URL HQ .starphleet names, or a checkout given with
 * --ships), not the HQ checkout's own (stale or empty) ships/. Real git, real age, the real CLI.
 */
const root = tmpDir('sp-ships-src-');
const keys = join(root, 'keys');
mkdirSync(keys);
const alice = makeKey(keys, 'alice');
const fresh = makeKey(keys, 'fresh');
const stale = makeKey(keys, 'stale');
const other = makeKey(keys, 'other');
const laptop = makeLaptop(alice);
const scratch = join(root, 'tmp');
mkdirSync(scratch, { mode: 0o700 });

function entry(name: string, key: TestKey, tags?: string[]): string {
  return `${JSON.stringify({ name, addresses: ['127.0.0.1'], sshPort: 2222, httpPort: 8080, hostKeys: [key.fingerprint], hostPublicKey: key.pub.split(' ').slice(0, 2).join(' '), clientKey: 'ssh-ed25519 AAAA', ...(tags ? { tags } : {}), version: '0', hq: null, services: {} }, null, 2)}\n`;
}

// The write-back repository (a bare one, as a git host keeps it) holds the ship of today.
const wb = join(root, 'writeback.git');
initRepo(join(root, 'wb-seed'), { 'ships/fresh': entry('fresh', fresh, ['web']) });
gitIn(root, 'clone', '-q', '--bare', join(root, 'wb-seed'), wb);
// HQ names it; its own ships/ holds a ship from before the move to a write-back repository.
const hq = join(root, 'hq');
initRepo(hq, {
  '.starphleet': `export STARPHLEET_WRITEBACK=${wb}#master\n`,
  'authorized_keys/alice.pub': `${alice.pub}\n`,
  'ships/stale': entry('stale', stale, ['web']),
  'web/orders': 'autodeploy /srv/web\non web\n',
});

function run(args: readonly string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return admiral(laptop, args, { env: { TMPDIR: scratch } });
}

const clones = (): string[] => readdirSync(scratch).filter((n) => n.startsWith('starphleet-ships-'));

describe('ships/ from the write-back repository on the admiral\'s side', { timeout: 300_000 }, () => {
  test('secrets set seals to the ships of the write-back repository (not HQ\'s stale ships/), and the clone is removed', async () => {
    const r = await run(['secrets', 'set', '--hq', hq, '-i', alice.privatePath, '-', 'A=1']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'secrets.age: set A; sealed to ship fresh, admiral authorized_keys/alice.pub\ncommit it: git add secrets.age && git commit\n');
    assert.match(r.stderr, new RegExp(`ships from STARPHLEET_WRITEBACK ${wb}#master`));
    assert.equal(execFileSync('age', ['-d', '-i', fresh.privatePath, join(hq, 'secrets.age')], { encoding: 'utf8' }), 'A="1"\n');
    assert.throws(() => execFileSync('age', ['-d', '-i', stale.privatePath, join(hq, 'secrets.age')], { stdio: 'pipe' }));
    assert.deepEqual(clones(), [], 'the temporary clone is gone');
  });

  test('hq check reads placement and recipients from the write-back repository', async () => {
    const r = await run(['hq', 'check', hq]);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^placement:\n {2}\/web on web -> fresh$/m);
    assert.match(r.stdout, /^ {2}secrets\.age -> sealed to ship fresh, admiral authorized_keys\/alice\.pub$/m);
    assert.deepEqual(clones(), []);
  });

  test('--ships DIR: a checkout of the write-back repository given by hand wins', async () => {
    const dir = join(root, 'ships-checkout');
    initRepo(dir, { 'ships/other': entry('other', other, ['db']) });
    const check = await run(['hq', 'check', hq, '--ships', dir]);
    assert.equal(check.code, 1, check.stdout);
    assert.match(check.stdout, /^web\/orders: on web: no ship in ships\/ \(--ships .*\) is named or tagged so: the service runs on no ship$/m);
    assert.match(check.stdout, /^secrets\.age: not sealed to ship other: they cannot open it/m);
    const reseal = await run(['secrets', 'reseal', '--hq', hq, '-i', alice.privatePath, '--ships', dir]);
    assert.equal(reseal.code, 0, reseal.stderr);
    assert.match(reseal.stdout, /^secrets\.age: resealed, sealed to ship other, admiral authorized_keys\/alice\.pub$/m);
    assert.equal(execFileSync('age', ['-d', '-i', other.privatePath, join(hq, 'secrets.age')], { encoding: 'utf8' }), 'A="1"\n');
  });

  test('a --ships without ships/, or a write-back URL that cannot be read, is an error that names it and writes nothing', async () => {
    const before = execFileSync('sha256sum', [join(hq, 'secrets.age')], { encoding: 'utf8' });
    const empty = join(root, 'empty');
    mkdirSync(empty);
    const bad = await run(['secrets', 'reseal', '--hq', hq, '-i', alice.privatePath, '--ships', empty]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /--ships .*empty: no ships\/ directory there \(give a checkout of the repository the ships write back to\)/);
    writeFileSync(join(hq, '.starphleet'), `export STARPHLEET_WRITEBACK=${join(root, 'nowhere.git')}#master\n`);
    const gone = await run(['secrets', 'reseal', '--hq', hq, '-i', alice.privatePath]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /STARPHLEET_WRITEBACK .*nowhere\.git#master: cannot read the ships' entries there: .*\(or give a checkout of it with --ships DIR\)/);
    const check = await run(['hq', 'check', hq]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^\.starphleet: STARPHLEET_WRITEBACK .*nowhere\.git#master: cannot read the ships' entries there/m);
    assert.equal(execFileSync('sha256sum', [join(hq, 'secrets.age')], { encoding: 'utf8' }), before, 'nothing was written');
    assert.deepEqual(clones(), []);
    assert.ok(existsSync(join(hq, 'secrets.age')));
  });
});
