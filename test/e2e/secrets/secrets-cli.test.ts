import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { parseDotenv } from '../../../src/agent/releases/dotenv.js';
import { loadHostKeys } from '../../../src/server/transport/host-keys.js';
import { admiral, makeLaptop } from '../../helpers/admiral.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * `starphleet secrets` in an HQ checkout, with the real `age`: what it writes any admiral opens with plain age, values
 * are byte-exact and never printed, a bad input changes nothing, `edit` leaves no plaintext behind, and `hq check`
 * says who a file misses. All keys are made here.
 */
const root = tmpDir('sp-secrets-cli-');
const keys = join(root, 'keys');
mkdirSync(keys);
const alice = makeKey(keys, 'alice');
const bob = makeKey(keys, 'bob');
const carol = makeKey(keys, 'carol', 'ecdsa');
const shipKey = makeKey(keys, 'ship1');
const dave = makeKey(keys, 'dave');
const laptop = makeLaptop(alice);
const hq = join(root, 'hq');
const scratch = join(root, 'tmp');
mkdirSync(scratch, { mode: 0o700 });

function shipEntry(name: string, key: TestKey): string {
  return `${JSON.stringify({ name, addresses: ['127.0.0.1'], sshPort: 2222, httpPort: 8080, hostKeys: [key.fingerprint], hostPublicKey: key.pub.split(' ').slice(0, 2).join(' '), clientKey: 'ssh-ed25519 AAAA', version: '0', hq: null, services: {} }, null, 2)}\n`;
}

function files(f: Record<string, string>): void {
  for (const [name, content] of Object.entries(f)) {
    mkdirSync(join(hq, name, '..'), { recursive: true });
    writeFileSync(join(hq, name), content);
  }
}

files({
  'authorized_keys/alice.pub': `${alice.pub}\n`,
  'ships/ship1': shipEntry('ship1', shipKey),
  'web/orders': 'autodeploy /srv/web\n',
  'a/b/orders': 'autodeploy /srv/ab\n',
  orders: 'autodeploy /srv/root\n',
});

function run(args: readonly string[], o: { env?: Record<string, string>; key?: TestKey } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return admiral(laptop, ['secrets', ...args, '--hq', hq, '-i', (o.key ?? alice).privatePath], { env: { TMPDIR: scratch, ...o.env } });
}

function open(file: string, key: TestKey = alice): Record<string, string> {
  const { env, problems } = parseDotenv(execFileSync('age', ['-d', '-i', key.privatePath, join(hq, file)], { encoding: 'utf8' }));
  assert.deepEqual(problems, []);
  return env;
}

/** What `edit` left in TMPDIR (tsx keeps its own cache there). */
const leftovers = (): string[] => readdirSync(scratch).filter((n) => n.startsWith('starphleet-secrets-'));

const TRICKY = 'p@ss "w0rd"\n$HOME \\n `id` # not a comment ';

describe('starphleet secrets in an HQ checkout', { timeout: 300_000 }, () => {
  test('set writes an age file any admiral and the ship open with plain age; values are byte-exact and never printed', async () => {
    const r = await run(['set', 'web', `DB=${TRICKY}`, 'EMPTY=']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, 'web/secrets.age: set DB, EMPTY; sealed to ship ship1, admiral authorized_keys/alice.pub\ncommit it: git add web/secrets.age && git commit\n');
    assert.match(readFileSync(join(hq, 'web', 'secrets.age'), 'utf8'), /^-----BEGIN AGE ENCRYPTED FILE-----\n/);
    assert.deepEqual(open('web/secrets.age'), { DB: TRICKY, EMPTY: '' });
    assert.deepEqual(open('web/secrets.age', shipKey), { DB: TRICKY, EMPTY: '' });
    // A mount path names the same service; a nested one its own directory; - the phleet-wide file.
    assert.equal((await run(['set', '/web', 'MORE=1'])).code, 0);
    assert.equal((await run(['set', 'a.b', 'X=1'])).code, 0);
    assert.deepEqual(open('a/b/secrets.age'), { X: '1' });
    // A bare NAME takes its value from stdin (one final newline cut): no value on the command line or in history.
    execFileSync(process.execPath, [...CLI_ARGS, 'secrets', 'set', '-', 'TOKEN', '--hq', hq, '-i', alice.privatePath], { input: `${TRICKY}\n`, env: laptop.env });
    assert.deepEqual(open('secrets.age'), { TOKEN: TRICKY });
    const list = await run(['list']);
    assert.equal(list.stdout, 'secrets.age\n  TOKEN\na/b/secrets.age\n  X\nweb/secrets.age\n  DB\n  EMPTY\n  MORE\n');
    assert.equal((await run(['list', 'web'])).stdout, 'DB\nEMPTY\nMORE\n');
    for (const out of [r, list]) assert.ok(!out.stdout.includes('w0rd') && !out.stderr.includes('w0rd'));
  });

  test('unset removes names, and the file with the last one; a bad input changes nothing', async () => {
    const before = readFileSync(join(hq, 'web', 'secrets.age'));
    const bad: [string[], RegExp][] = [
      [['set', 'web', 'STARPHLEET_NOTIFY=x'], /names beginning with STARPHLEET_ are the ship's/],
      [['set', 'web', 'PORT=1'], /PORT is given by the ship/],
      [['set', 'web', '9LIVES=1'], /not an environment variable name/],
      [['set', 'web', 'A=1', 'A=2'], /A is given twice/],
      [['set', 'root', 'A=1'], /the root service's directory is HQ's top.*use -/],
      [['set', 'nope', 'A=1'], /no service nope in this HQ checkout.*services: a\.b, web/],
      [['unset', 'web', 'MISSING'], /web\/secrets\.age has no MISSING: nothing changed/],
      [['set', 'web', 'A=1'], /no such key/],
    ];
    const none = { ...alice, privatePath: join(keys, 'none') };
    for (const [args, re] of bad) {
      const r = await run(args, re.source.includes('no such key') ? { key: none } : {});
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stdout}`);
      assert.match(r.stderr, re, args.join(' '));
    }
    // Bob is no admiral: his key opens nothing.
    const notMine = await run(['set', 'web', 'A=1'], { key: bob });
    assert.match(notMine.stderr, /^starphleet: web\/secrets\.age: cannot open it with .*bob: no identity matched any of the recipients \(is this key in authorized_keys\/\?/);
    assert.deepEqual(readFileSync(join(hq, 'web', 'secrets.age')), before, 'nothing changed');
    const u = await run(['unset', 'web', 'EMPTY', 'MORE']);
    assert.equal(u.code, 0, u.stderr);
    assert.deepEqual(open('web/secrets.age'), { DB: TRICKY });
    const last = await run(['unset', 'a.b', 'X']);
    assert.match(last.stdout, /^a\/b\/secrets\.age: unset X; no names left, so the file is removed: commit it \(git rm a\/b\/secrets\.age\)$/m);
    assert.equal(existsSync(join(hq, 'a', 'b', 'secrets.age')), false);
  });

  test('edit: the plaintext is in a 0600 file only while $EDITOR runs; comments stay; a bad edit or a failing editor changes nothing', async () => {
    const seen = join(root, 'seen');
    const editor = join(root, 'editor.sh');
    // Records where and how it was given the file, then appends a commented line and a value.
    writeFileSync(editor, `#!/bin/sh\nstat -c '%a %n' "$1" > ${seen}\nstat -c '%a' "$(dirname "$1")" >> ${seen}\nprintf '# the api\\nAPI="k\\\\ny"\\n' >> "$1"\n`);
    chmodSync(editor, 0o755);
    const before = readFileSync(join(hq, 'web', 'secrets.age'));
    const r = await run(['edit', 'web'], { env: { EDITOR: editor } });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^web\/secrets\.age: edited \(2 names\); sealed to/);
    const [fileLine, dirMode] = readFileSync(seen, 'utf8').trim().split('\n');
    assert.match(fileLine ?? '', new RegExp(`^600 ${scratch}/starphleet-secrets-[^/]+/secrets\\.env$`));
    assert.equal(dirMode, '700');
    assert.equal(existsSync((fileLine ?? '').split(' ')[1] as string), false, 'the plaintext file is gone');
    assert.deepEqual(leftovers(), [], 'nothing left in TMPDIR');
    assert.deepEqual(open('web/secrets.age'), { DB: TRICKY, API: 'k\ny' });
    assert.notDeepEqual(readFileSync(join(hq, 'web', 'secrets.age')), before);
    // set keeps what edit wrote around other names.
    assert.equal((await run(['set', 'web', 'API=z'])).code, 0);
    assert.match(execFileSync('age', ['-d', '-i', alice.privatePath, join(hq, 'web', 'secrets.age')], { encoding: 'utf8' }), /\n# the api\nAPI="z"\n$/);

    const kept = readFileSync(join(hq, 'web', 'secrets.age'));
    for (const [script, re] of [
      ['#!/bin/sh\nexit 3\n', /the editor .* exited with 3: nothing changed/],
      ['#!/bin/sh\necho "this line is wrong" >> "$1"\n', /^starphleet: web\/secrets\.age: line \d+ of its plaintext: expected NAME=value/],
      ['#!/bin/sh\necho "STARPHLEET_X=1" >> "$1"\n', /STARPHLEET_X: names beginning/],
    ] as const) {
      writeFileSync(editor, script);
      const bad = await run(['edit', 'web'], { env: { EDITOR: editor } });
      assert.equal(bad.code, 1, bad.stdout);
      assert.match(bad.stderr, re);
      assert.doesNotMatch(bad.stderr, /this line is wrong/);
      assert.deepEqual(readFileSync(join(hq, 'web', 'secrets.age')), kept);
      assert.deepEqual(leftovers(), []);
    }
    writeFileSync(editor, '#!/bin/sh\ntrue\n');
    const same = await run(['edit', 'web'], { env: { EDITOR: editor } });
    assert.equal(same.stdout, 'web/secrets.age: no change\n');
    assert.deepEqual(readFileSync(join(hq, 'web', 'secrets.age')), kept);
  });

  test('hq check names who a file misses; reseal seals to the ships and admirals of now, then there is nothing to do', async () => {
    files({ 'ships/ship2': shipEntry('ship2', bob), 'authorized_keys/carol.pub': `${carol.pub}\n` });
    const check = await admiral(laptop, ['hq', 'check', hq]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^secrets:\n {2}secrets\.age -> sealed to ship ship1, admiral authorized_keys\/alice\.pub\n {2}web\/secrets\.age -> sealed to ship ship1, admiral authorized_keys\/alice\.pub$/m);
    assert.match(check.stdout, /^web\/secrets\.age: not sealed to ship ship2: they cannot open it; run `starphleet secrets reseal` in this checkout and commit$/m);
    assert.match(check.stdout, /^authorized_keys\/carol\.pub: a ecdsa-sha2-nistp256 key cannot open age files/m);
    const r = await run(['reseal']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^web\/secrets\.age: resealed, sealed to ship ship1, ship ship2, admiral authorized_keys\/alice\.pub$/m);
    assert.deepEqual(open('web/secrets.age', bob), open('web/secrets.age'));
    assert.match((await run(['reseal', 'web'])).stdout, /^web\/secrets\.age: already sealed to every current ship and admiral$/m);
    // An admiral leaves: the files still name a key of nobody current until a reseal drops it.
    // A ship leaves and an admiral joins: the files still name the ship's key until a reseal drops it.
    rmSync(join(hq, 'authorized_keys', 'carol.pub'));
    rmSync(join(hq, 'ships', 'ship2'));
    files({ 'authorized_keys/dave.pub': `${dave.pub}\n` });
    const after = await admiral(laptop, ['hq', 'check', hq]);
    assert.match(after.stdout, /^web\/secrets\.age: also sealed to 1 key\(s\) of no current ship or admiral/m);
    assert.match(after.stdout, /^web\/secrets\.age: not sealed to admiral authorized_keys\/dave\.pub/m);
    assert.equal((await run(['reseal'])).code, 0);
    assert.equal((await admiral(laptop, ['hq', 'check', hq])).code, 0);
  });

  test('a corrupt or symlinked file is reported with its path by hq check and refused by the CLI', async () => {
    const copy = join(root, 'hq-bad');
    cpSync(hq, copy, { recursive: true });
    writeFileSync(join(copy, 'web', 'secrets.age'), readFileSync(join(hq, 'web', 'secrets.age'), 'utf8').replace(/\n[A-Za-z0-9+/]{20}/, '\n####################'));
    const check = await admiral(laptop, ['hq', 'check', copy]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^web\/secrets\.age: armored age file: line \d+ is not base64 in 64 columns/m);
    const r = await admiral(laptop, ['secrets', 'list', 'web', '--hq', copy, '-i', alice.privatePath]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^starphleet: web\/secrets\.age: armored age file/);
    rmSync(join(copy, 'web', 'secrets.age'));
    execFileSync('ln', ['-s', '../secrets.age', join(copy, 'web', 'secrets.age')]);
    assert.match((await admiral(laptop, ['hq', 'check', copy])).stdout, /^web\/secrets\.age: symlink in HQ: not followed/m);
    assert.match((await admiral(laptop, ['secrets', 'list', 'web', '--hq', copy, '-i', alice.privatePath])).stderr, /not a plain file/);
  });

  test("on a ship (STARPHLEET_DATA, as ssh admiral@ship has it): list opens the ship's checkout with its host key; changes are refused", async () => {
    const data = join(root, 'data');
    const host = loadHostKeys(data, () => {}).find((k) => k.type === 'ssh-ed25519');
    assert.ok(host);
    cpSync(hq, join(data, 'hq'), { recursive: true });
    const env = { STARPHLEET_DATA: data };
    const cant = await admiral(laptop, ['secrets', 'list', 'web'], { env });
    assert.equal(cant.code, 1);
    assert.match(cant.stderr, /web\/secrets\.age: cannot open it with .*ssh_host_ed25519_key: no identity matched/);
    // Sealed to this ship too (its host key, as its ships/ entry would say), it lists the names.
    const pub = readFileSync(`${host.path}.pub`, 'utf8').trim();
    files({ 'ships/ship3': shipEntry('ship3', { ...shipKey, pub, fingerprint: host.fingerprint }) });
    assert.equal((await run(['reseal', 'web'])).code, 0);
    cpSync(join(hq, 'web', 'secrets.age'), join(data, 'hq', 'web', 'secrets.age'));
    const ok = await admiral(laptop, ['secrets', 'list', 'web'], { env });
    assert.equal(ok.stdout, 'DB\nAPI\n');
    const set = await admiral(laptop, ['secrets', 'set', 'web', 'A=1'], { env });
    assert.equal(set.code, 1);
    assert.match(set.stderr, /secrets set changes an HQ checkout you commit from: give it with --hq DIR/);
    assert.ok(statSync(join(data, 'hq', 'web', 'secrets.age')).isFile());
  });
});
