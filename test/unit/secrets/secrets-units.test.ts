import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { SecretsKeeper } from '../../../src/agent/secrets/keeper.js';
import { readSecretEnv } from '../../../src/agent/secrets/secret-env.js';
import { parseDotenv } from '../../../src/agent/releases/dotenv.js';
import { publicConfig } from '../../../src/agent/releases/release-store.js';
import { parseAgeHeader, stanzaTag } from '../../../src/headquarters/age-header.js';
import { readHeadquarters } from '../../../src/headquarters/layout.js';
import type { SealedFile, Service } from '../../../src/headquarters/types.js';
import { sealTo } from '../../../src/secrets/age-tool.js';
import { coverageOf } from '../../../src/secrets/coverage.js';
import { assignmentSpans, dotenvLine, secretNameProblem, withAssignments } from '../../../src/secrets/dotenv-text.js';
import { ed25519PublicLine, hostIdentityFile } from '../../../src/secrets/host-key.js';
import { currentRecipients, recipientTag } from '../../../src/secrets/recipients.js';
import { loadHostKeys } from '../../../src/server/transport/host-keys.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('sp-secrets-unit-');
const a = makeKey(dir, 'a');
const b = makeKey(dir, 'b');
const rsa = makeKey(dir, 'r', 'rsa');
const keyLine = (k: TestKey): string => k.pub.split(' ').slice(0, 2).join(' ');
const blobOf = (k: TestKey): Buffer => Buffer.from(k.pub.split(' ')[1] as string, 'base64');
/** The real age, sealing to SSH keys, ASCII-armored or not. */
const age = (plain: string, recipients: readonly TestKey[], armor = false): Buffer =>
  execFileSync('age', [...(armor ? ['-a'] : []), ...recipients.flatMap((k) => ['-r', keyLine(k)])], { input: plain });

function sealed(file: string, bytes: Buffer, mount: string | null): SealedFile {
  const h = parseAgeHeader(bytes);
  return { file, mount, bytes, sha256: file, recipients: h.ok ? h.stanzas.map((s) => ({ type: s.type, tag: stanzaTag(s) })) : [], problem: h.ok ? null : h.message };
}

function service(mount: string): Service {
  return { mount, name: mount.slice(1) || 'root', ordersFile: `${mount.slice(1)}/orders`, orders: { giturl: '/x', env: {}, unpublished: false, proxyFor: [] }, ordersDigest: 'd', stale: false };
}

describe('age headers, read without a key', () => {
  test("the tags in a real age file's stanzas are age's tags of the recipients' SSH keys (binary and armored)", () => {
    for (const armor of [false, true]) {
      const h = parseAgeHeader(age('A=1\n', [a, rsa, b], armor));
      assert.ok(h.ok, h.ok ? '' : h.message);
      assert.equal(h.armored, armor);
      assert.deepEqual(h.stanzas.map((s) => [s.type, stanzaTag(s)]), [['ssh-ed25519', recipientTag(blobOf(a))], ['ssh-rsa', recipientTag(blobOf(rsa))], ['ssh-ed25519', recipientTag(blobOf(b))]]);
    }
    const x25519 = execFileSync('age-keygen', { encoding: 'utf8' }).match(/public key: (age1\S+)/)?.[1] as string;
    const h = parseAgeHeader(execFileSync('age', ['-r', x25519], { input: 'A=1\n' }));
    assert.ok(h.ok && h.stanzas[0]?.type === 'X25519' && stanzaTag(h.stanzas[0]) === null);
  });

  test('anything else is refused with what is wrong, bounded', () => {
    const good = age('A=1\n', [a]);
    const armored = age('A=1\n', [a], true).toString();
    const cases: [Buffer, RegExp][] = [
      [Buffer.from('garbage\n'), /^not an age file/],
      [Buffer.from(''), /^not an age file/],
      [good.subarray(0, good.indexOf('---')), /ends without its --- line/],
      [good.subarray(0, good.indexOf('---') + 48), /no ciphertext after its header/],
      [Buffer.from('age-encryption.org/v1\n--- AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n'.padEnd(200, 'x')), /has no recipient/],
      [Buffer.from('age-encryption.org/v1\n->  bad\n\n'), /malformed stanza/],
      [Buffer.from('age-encryption.org/v1\n-> X25519 abc\n%%%%\n'), /malformed stanza body/],
      [Buffer.from(armored.replace('-----END AGE ENCRYPTED FILE-----', '')), /without its -----END/],
      [Buffer.from(armored.replace(/\n[A-Za-z0-9+/]{10}/, '\n!!!!!!!!!!')), /not base64 in 64 columns/],
      [Buffer.alloc(300 * 1024, 0x41), /larger than/],
    ];
    for (const [bytes, re] of cases) {
      const h = parseAgeHeader(bytes);
      assert.equal(h.ok, false, String(re));
      if (!h.ok) assert.match(h.message, re);
    }
  });
});

describe('dotenv text of a secrets file', () => {
  const tricky = ['', 'plain', ' lead and trail ', 'say "hi"', "it's", 'back\\slash\\', 'multi\nline\r\nwith\ttab', '$HOME ${X} `id`', 'a # not a comment', 'ünïcødé ✓', '=equals=', '\\n literally'];

  test('every value reads back byte-exact through the .env parser', () => {
    const text = tricky.map((v, i) => `${dotenvLine(`V${i}`, v)}\n`).join('');
    const { env, problems } = parseDotenv(text);
    assert.deepEqual(problems, []);
    assert.deepEqual(Object.values(env), tricky);
    assert.equal(text.split('\n').length, tricky.length + 1, 'one line per name');
  });

  test('set and unset change only the lines of their names: comments, order and multi-line values stay', () => {
    const text = '# db\nDB="a\nb"\nexport KEEP=1 # note\n\n# api\nAPI=\'x\'\nDB=again\n';
    assert.deepEqual(assignmentSpans(text.replace(/\n$/, '').split('\n')).map((s) => [s.name, s.start, s.end]), [['DB', 1, 2], ['KEEP', 3, 3], ['API', 6, 6], ['DB', 7, 7]]);
    const set = withAssignments(text, new Map([['DB', 'new'], ['NEW', 'n']]), []);
    assert.equal(set, '# db\nDB="new"\nexport KEEP=1 # note\n\n# api\nAPI=\'x\'\nNEW="n"\n');
    assert.equal(withAssignments(set, new Map(), ['DB', 'API']), '# db\nexport KEEP=1 # note\n\n# api\nNEW="n"\n');
    assert.equal(withAssignments('', new Map([['A', '1']]), []), 'A="1"\n');
  });

  test("names the ship sets are refused; a bad line fails the whole file without quoting the line's text", () => {
    assert.equal(secretNameProblem('DATABASE_URL'), null);
    assert.match(secretNameProblem('STARPHLEET_WEBHOOK_SECRET') ?? '', /are the ship's/);
    assert.match(secretNameProblem('PORT') ?? '', /given by the ship/);
    assert.match(secretNameProblem('1X') ?? '', /not an environment variable name/);
    for (const [text, re] of [
      ['A=1\nhunter2-the-password\n', /^line 2 of its plaintext: expected NAME=value$/],
      ['A="x" hunter2-the-password\n', /^line 1 of its plaintext: A: unexpected text after the closing quote$/],
      ['hunter2-the-password!=1\n', /^line 1 of its plaintext: bad variable name/],
      ['STARPHLEET_NOTIFY=x\n', /STARPHLEET_NOTIFY: names beginning/],
    ] as const) {
      const r = readSecretEnv(Buffer.from(text));
      assert.equal(r.ok, false);
      if (!r.ok) {
        assert.match(r.message, re);
        assert.doesNotMatch(r.message, /hunter2/);
      }
    }
    assert.equal(readSecretEnv(Buffer.from([0xff, 0xfe])).ok, false);
  });
});

describe('the ship side', () => {
  test('the identity the agent opens files with is the host key the SSH server makes; its public line is the .pub', () => {
    const data = join(dir, 'data');
    const keys = loadHostKeys(data, () => {});
    const ed = keys.find((k) => k.type === 'ssh-ed25519');
    assert.equal(ed?.path, hostIdentityFile(data));
    assert.equal(ed25519PublicLine(readFileSync(hostIdentityFile(data))), readFileSync(`${hostIdentityFile(data)}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' '));
  });

  test('a deploy gets phleet-wide < service secrets, .starphleet names win; the digest follows values, not the sealing', async () => {
    const keeper = new SecretsKeeper(a.privatePath);
    const wide = sealed('secrets.age', age('SHARED=w\nDB=wide\nHQ_WINS=s\n', [a]), null);
    const own = sealed('web/secrets.age', age('DB=own\n', [a, b]), '/web');
    const r = await keeper.forService([wide, own, sealed('other/secrets.age', age('X=1\n', [b]), '/other')], service('/web'), { HQ_WINS: 'hq', STARPHLEET_NOTIFY: 'x' });
    assert.ok(r.ok && r.secrets);
    assert.deepEqual(r.secrets.names, ['DB', 'SHARED']);
    assert.deepEqual(r.secrets.sealed.map((s) => s.file), ['secrets.age', 'web/secrets.age']);
    const release = { config: { id: 'r1', secrets: r.secrets } } as unknown as Parameters<SecretsKeeper['forRelease']>[0];
    assert.deepEqual(await keeper.forRelease(release), { ok: true, env: { DB: 'own', SHARED: 'w' } });
    // Sealed again to other keys, same values: same digest (a reseal redeploys nothing); another value: another digest.
    const resealed = await keeper.forService([sealed('secrets.age', age('SHARED=w\nDB=wide\nHQ_WINS=s\n', [a, b], true), null), sealed('web/secrets.age', age('# a comment\nDB=own\n', [a]), '/web')], service('/web'), { HQ_WINS: 'hq' });
    assert.ok(resealed.ok && resealed.secrets?.digest === r.secrets.digest);
    const rotated = await keeper.forService([wide, sealed('web/secrets.age', age('DB=own2\n', [a]), '/web')], service('/web'), { HQ_WINS: 'hq' });
    assert.ok(rotated.ok && rotated.secrets && rotated.secrets.digest !== r.secrets.digest);
    // Keyed by the host key: another ship's digest of the same values differs.
    const elsewhere = await new SecretsKeeper(b.privatePath).forService([sealed('web/secrets.age', age('DB=own\n', [a, b]), '/web')], service('/web'), {});
    const here = await keeper.forService([sealed('web/secrets.age', age('DB=own\n', [a, b]), '/web')], service('/web'), {});
    assert.ok(elsewhere.ok && here.ok && elsewhere.secrets?.digest !== here.secrets?.digest);
    // The root service's directory is HQ's top: only the phleet-wide file applies to it.
    const rootSecrets = await keeper.forService([wide, own], service('/'), {});
    assert.ok(rootSecrets.ok && rootSecrets.secrets?.sealed.length === 1);
    assert.deepEqual(rootSecrets.secrets?.names, ['DB', 'HQ_WINS', 'SHARED']);
    assert.deepEqual(await keeper.forService([own], service('/other'), {}), { ok: true, secrets: null });
  });

  test('a file this ship is no recipient of, or a malformed one, holds the service with its path and why', async () => {
    const keeper = new SecretsKeeper(a.privatePath);
    const notMine = await keeper.forService([sealed('web/secrets.age', age('DB=x\n', [b]), '/web')], service('/web'), {});
    assert.deepEqual(notMine, { ok: false, reason: "web/secrets.age: this ship cannot open it: no identity matched any of the recipients (this ship's host key is not a recipient yet: an admiral runs `starphleet secrets reseal` and commits)" });
    const broken = await keeper.forService([sealed('secrets.age', Buffer.from('nope\n'), null)], service('/web'), {});
    assert.ok(!broken.ok && /^secrets\.age: not an age file/.test(broken.reason));
    const badLine = await keeper.forService([sealed('web/secrets.age', age('DB=x\nsecret-value-here\n', [a]), '/web')], service('/web'), {});
    assert.deepEqual(badLine, { ok: false, reason: 'web/secrets.age: line 2 of its plaintext: expected NAME=value' });
  });

  test('what others see of a release config names its secrets and holds neither values nor sealed copies', () => {
    const c = publicConfig({ id: 'x', env: { A: '1' }, secrets: { digest: 'd', names: ['S'], sealed: [{ file: 'secrets.age', age: 'QQ==' }] } });
    assert.deepEqual(c, { id: 'x', envNames: ['A'], secretNames: ['S'] });
  });
});

describe('HQ layout and recipients', () => {
  test('secrets.age files are read with their service, and every bad one is a problem with its path', async () => {
    const hq = join(dir, 'hq');
    mkdirSync(join(hq, 'web'), { recursive: true });
    mkdirSync(join(hq, 'lonely'));
    mkdirSync(join(hq, 'linked'));
    mkdirSync(join(hq, 'authorized_keys'));
    mkdirSync(join(hq, 'ships'));
    writeFileSync(join(hq, 'authorized_keys', 'a.pub'), `${a.pub}\n`);
    writeFileSync(join(hq, 'authorized_keys', 'robot.pub'), `command="starphleet status" ${b.pub}\n`);
    writeFileSync(join(hq, 'ships', 's1'), JSON.stringify({ name: 's1', addresses: [], sshPort: 1, hostKeys: [], hostPublicKey: keyLine(b), clientKey: 'x', services: {} }));
    writeFileSync(join(hq, 'ships', 'old'), JSON.stringify({ name: 'old', addresses: [], sshPort: 1, hostKeys: [], clientKey: 'x', services: {} }));
    for (const d of ['web', 'linked']) writeFileSync(join(hq, d, 'orders'), 'autodeploy /x\n');
    writeFileSync(join(hq, 'secrets.age'), age('A=1\n', [a]));
    writeFileSync(join(hq, 'web', 'secrets.age'), 'garbage\n');
    writeFileSync(join(hq, 'lonely', 'secrets.age'), age('A=1\n', [a]));
    symlinkSync(join(hq, 'secrets.age'), join(hq, 'linked', 'secrets.age'));
    const state = await readHeadquarters(hq, { sha: null, evalTimeoutMs: 10_000 });
    assert.deepEqual(state.secrets?.map((f) => [f.file, f.mount, f.problem?.replace(/ \(.*$/, '') ?? null]), [
      ['secrets.age', null, null],
      ['linked/secrets.age', '/linked', 'symlink in HQ: not followed'],
      ['lonely/secrets.age', '/lonely', null],
      ['web/secrets.age', '/web', 'not an age file'],
    ]);
    const files = state.problems.filter((p) => p.file.endsWith('secrets.age')).map((p) => `${p.file}: ${p.message.replace(/ \(.*$/, '')}`);
    assert.deepEqual(files, ['linked/secrets.age: symlink in HQ: not followed', 'lonely/secrets.age: no orders next to this secrets.age: no service gets it', 'web/secrets.age: not an age file']);
    // Recipients: s1 by its host key, admiral a; the robot (command=) is not given secrets; a ship without a key is said.
    const r = await currentRecipients(hq);
    assert.deepEqual(r.recipients.map((x) => [x.kind, x.name, x.tag]), [['ship', 's1', recipientTag(blobOf(b))], ['admiral', 'authorized_keys/a.pub', recipientTag(blobOf(a))]]);
    assert.deepEqual(r.problems.map((p) => p.file), ['ships/old']);
    const top = state.secrets?.[0] as SealedFile;
    assert.deepEqual(coverageOf(top, r.recipients).missing.map((x) => x.name), ['s1']);
    assert.equal(coverageOf(top, r.recipients).extra, 0);
  });

  test('a ships/ entry is written by a ship: a hostPublicKey that is not exactly one ed25519 key is never sealed to', async () => {
    const hq = join(dir, 'hq-hostile');
    mkdirSync(join(hq, 'ships'), { recursive: true });
    const entry = (name: string, hostPublicKey: unknown): string => JSON.stringify({ name, addresses: [], sshPort: 1, hostKeys: [], hostPublicKey, clientKey: 'x', services: {} });
    const ed = keyLine(a);
    const cases: Record<string, unknown> = {
      options: `-r ${ed}`,
      two: `${ed}\n${keyLine(b)}`,
      rsa: keyLine(rsa),
      // The right type name over a blob that is not an ed25519 key (an RSA key's blob).
      forged: `ssh-ed25519 ${blobOf(rsa).toString('base64')}`,
      short: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5',
      number: 42,
      comment: `${ed} with-a-comment`,
    };
    for (const [name, key] of Object.entries(cases)) writeFileSync(join(hq, 'ships', name), entry(name, key));
    writeFileSync(join(hq, 'ships', 'liar'), entry('someone-else', ed));
    const r = await currentRecipients(hq);
    assert.deepEqual(r.recipients, []);
    assert.deepEqual(r.problems.map((p) => p.file).sort(), ['ships/comment', 'ships/forged', 'ships/liar', 'ships/number', 'ships/options', 'ships/rsa', 'ships/short', 'ships/two']);
    assert.match(r.problems.find((p) => p.file === 'ships/liar')?.message ?? '', /names ship "someone-else"/);
  });

  test('sealTo seals with age -a to the given keys; nobody to seal to is an error', async () => {
    const s = await sealTo(Buffer.from('A=1\n'), [keyLine(a)]);
    assert.match(s.toString(), /^-----BEGIN AGE ENCRYPTED FILE-----/);
    assert.equal(execFileSync('age', ['-d', '-i', a.privatePath], { input: s, encoding: 'utf8' }), 'A=1\n');
    await assert.rejects(sealTo(Buffer.from('A=1\n'), []), /no recipients/);
  });
});
