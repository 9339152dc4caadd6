import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import type { Admiral } from '../../../src/headquarters/types.js';
import { AdmiralKeys, decideAuth, type AuthRequest } from '../../../src/server/access/auth.js';
import { makeKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

const USERS = new Set(['admiral']);

describe('decideAuth (unit)', () => {
  const dir = tmpDir('sp-decide-');
  const k = makeKey(dir, 'k');
  const other = makeKey(dir, 'other');
  const admiralOf = (options: string): Admiral => {
    const { admiral } = parseAuthorizedKeyFile(`${options ? `${options} ` : ''}${k.pub}\n`, 'authorized_keys/k');
    assert.ok(admiral);
    return admiral;
  };
  const priv = ssh2.utils.parseKey(readFileSync(k.privatePath));
  if (priv instanceof Error) throw priv;
  const blob = priv.getPublicSSH();
  const data = Buffer.from('session-bound data');
  const signed = (username = 'admiral', signature = priv.sign(data)): AuthRequest => ({
    username, method: 'publickey', key: { algo: 'ssh-ed25519', data: blob }, signature, blob: data,
  });

  it('accepts a valid signature by an admiral key and binds the user', () => {
    const keys = new AdmiralKeys();
    keys.replace([admiralOf('')]);
    const d = decideAuth(signed(), '127.0.0.1', keys, USERS);
    assert.equal(d.kind, 'accept');
    assert.equal(d.kind === 'accept' && d.identity.user, 'admiral');
  });

  it('answers probes without logging in, refuses bad signatures, unknown users and other methods', () => {
    const keys = new AdmiralKeys();
    keys.replace([admiralOf('')]);
    const probe: AuthRequest = { username: 'admiral', method: 'publickey', key: { algo: 'ssh-ed25519', data: blob } };
    assert.equal(decideAuth(probe, '127.0.0.1', keys, USERS).kind, 'probe-ok');
    const bogus = decideAuth(signed('admiral', Buffer.alloc(64, 7)), '127.0.0.1', keys, USERS);
    assert.equal(bogus.kind === 'reject' && bogus.reason, 'bad signature');
    const otherKey = ssh2.utils.parseKey(readFileSync(other.privatePath));
    if (otherKey instanceof Error) throw otherKey;
    assert.equal(decideAuth(signed('admiral', otherKey.sign(data)), '127.0.0.1', keys, USERS).kind, 'reject');
    const git = decideAuth(signed('git'), '127.0.0.1', keys, USERS);
    assert.equal(git.kind === 'reject' && git.reason, 'no such user "git"');
    assert.equal(decideAuth({ username: 'admiral', method: 'password' }, '127.0.0.1', keys, USERS).kind, 'reject');
    assert.equal(decideAuth(signed(), '127.0.0.1', new AdmiralKeys(), USERS).kind, 'reject', 'no admirals before the first sync');
  });

  it('applies from= with CIDRs, wildcards and negation', () => {
    const cases: [string, string, boolean][] = [
      ['from="10.0.0.0/8"', '10.1.2.3', true],
      ['from="10.0.0.0/8"', '127.0.0.1', false],
      ['from="127.0.0.*"', '::ffff:127.0.0.1', true],
      ['from="*,!127.0.0.1"', '127.0.0.1', false],
      ['from="*,!127.0.0.1"', '192.168.1.1', true],
      ['from="::1"', '::1', true],
    ];
    for (const [opt, addr, ok] of cases) {
      const keys = new AdmiralKeys();
      keys.replace([admiralOf(opt)]);
      assert.equal(decideAuth(signed(), addr, keys, USERS).kind, ok ? 'accept' : 'reject', `${opt} ${addr}`);
    }
  });

  it('refuses ssh-rsa (SHA-1) signatures and accepts rsa-sha2-256/512 ones', () => {
    const r = makeKey(dir, 'rsa', 'rsa');
    const { admiral } = parseAuthorizedKeyFile(`${r.pub}\n`, 'authorized_keys/rsa');
    assert.ok(admiral);
    const keys = new AdmiralKeys();
    keys.replace([admiral]);
    const rp = ssh2.utils.parseKey(readFileSync(r.privatePath));
    if (rp instanceof Error) throw rp;
    const req = (hashAlgo: string | undefined): AuthRequest => ({
      username: 'admiral', method: 'publickey', key: { algo: 'ssh-rsa', data: rp.getPublicSSH() }, blob: data,
      signature: rp.sign(data, hashAlgo), ...(hashAlgo ? { hashAlgo } : {}),
    });
    assert.equal(decideAuth(req('sha256'), '127.0.0.1', keys, USERS).kind, 'accept');
    assert.equal(decideAuth(req('sha512'), '127.0.0.1', keys, USERS).kind, 'accept');
    const sha1 = decideAuth(req(undefined), '127.0.0.1', keys, USERS);
    assert.equal(sha1.kind, 'reject');
    assert.match(sha1.kind === 'reject' ? sha1.reason : '', /ssh-rsa \(SHA-1\) signatures are refused/);
  });

  it('finds every file that holds a key; files forcing different commands admit nothing', () => {
    const keys = new AdmiralKeys();
    const a = parseAuthorizedKeyFile(`command="one" ${k.pub}\n`, 'authorized_keys/a').admiral;
    const b = parseAuthorizedKeyFile(`command="two" ${k.pub}\n`, 'authorized_keys/b').admiral;
    assert.ok(a && b);
    keys.replace([a, b]);
    assert.equal(keys.find(blob).length, 2);
    const d = decideAuth(signed(), '127.0.0.1', keys, USERS);
    assert.equal(d.kind, 'reject');
    assert.match(d.kind === 'reject' ? d.reason : '', /authorized_keys\/a and authorized_keys\/b force different commands/);
    keys.replace([]);
    assert.equal(keys.find(blob).length, 0);
  });
});
