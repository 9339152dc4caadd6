import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fromAllows, parseFromPatterns } from '../../../src/headquarters/from-pattern.js';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import { makeKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

const dir = tmpDir('sp-keys-');
const keys = { ed25519: makeKey(dir, 'ed', 'ed25519'), ecdsa: makeKey(dir, 'ec', 'ecdsa'), rsa: makeKey(dir, 'rsa', 'rsa') };

for (const [type, key] of Object.entries(keys)) {
  test(`keys: ${type} fingerprint equals ssh-keygen -lf`, () => {
    const r = parseAuthorizedKeyFile(`${key.pub}\n`, 'authorized_keys/x');
    assert.deepEqual(r.problems, []);
    assert.equal(r.admiral?.fingerprint, key.fingerprint);
    assert.deepEqual(r.admiral?.options, []);
  });
}

test('keys: options are parsed as sshd splits them', () => {
  const line = `restrict,command="echo \\"hi there\\", ok",from="10.0.0.0/8,!10.1.2.3,127.0.0.1" ${keys.ed25519.pub}`;
  const r = parseAuthorizedKeyFile(`# the deploy bot\n\n${line}\n`, 'authorized_keys/bot');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.admiral?.options, [
    { name: 'restrict' },
    { name: 'command', value: 'echo "hi there", ok' },
    { name: 'from', value: '10.0.0.0/8,!10.1.2.3,127.0.0.1' },
  ]);
  assert.equal(r.admiral?.comment, 'ed@test');
  const np = parseAuthorizedKeyFile(`no-pty,no-port-forwarding ${keys.rsa.pub}`, 'authorized_keys/np');
  assert.deepEqual(np.admiral?.options, [{ name: 'no-pty' }, { name: 'no-port-forwarding' }]);
});

test('keys: bad key files are problems for that file only, and load no key', () => {
  const cases: [string, RegExp][] = [
    ['', /no public key/],
    ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGarbage', /malformed/],
    ['ssh-dss AAAAB3NzaC1kc3MAAACBAP', /unsupported key type/],
    [`${keys.ed25519.pub}\n${keys.rsa.pub}`, /more than one key/],
    [`environment="A=1" ${keys.ed25519.pub}`, /environment is not an option this ship applies/],
    [`permitopen="localhost:80" ${keys.ed25519.pub}`, /permitopen is not an option/],
    [`cert-authority ${keys.ed25519.pub}`, /cert-authority is not an option/],
    [`no-touch-required ${keys.ed25519.pub}`, /no-touch-required is not an option/],
    [`command="a",command="b" ${keys.ed25519.pub}`, /command given twice/],
    [`from="999.1.1.1/8" ${keys.ed25519.pub}`, /from=/],
    [`command=nope ${keys.ed25519.pub}`, /double-quoted/],
    [`ssh-rsa ${keys.ed25519.pub.split(' ')[1]}`, /says ssh-rsa/],
    [`-----BEGIN OPENSSH ${'PRIVATE'} KEY-----`, /a private key, not a public one/], // a private key pasted by mistake
  ];
  for (const [text, re] of cases) {
    const r = parseAuthorizedKeyFile(text, 'authorized_keys/bad');
    assert.equal(r.admiral, null, text);
    assert.equal(r.problems.length, 1, text);
    assert.equal(r.problems[0]?.file, 'authorized_keys/bad');
    assert.match(r.problems[0]?.message ?? '', re, text);
  }
});

test('from= patterns: CIDRs, wildcards, negation, IPv6 and v4-mapped addresses', () => {
  const p = parseFromPatterns('10.0.0.0/8,!10.1.2.3,192.168.1.*,::1,2001:db8::/32');
  assert.ok(!('error' in p));
  if ('error' in p) return;
  assert.equal(fromAllows(p, '10.9.8.7'), true);
  assert.equal(fromAllows(p, '::ffff:10.9.8.7'), true);
  assert.equal(fromAllows(p, '10.1.2.3'), false);
  assert.equal(fromAllows(p, '192.168.1.77'), true);
  assert.equal(fromAllows(p, '192.168.2.1'), false);
  assert.equal(fromAllows(p, '::1'), true);
  assert.equal(fromAllows(p, '2001:db8:1::5'), true);
  assert.equal(fromAllows(p, '2001:db9::5'), false);
  assert.equal(fromAllows(p, '127.0.0.1'), false);
  for (const bad of ['10.0.0.0/33', '10.0.0.1/8', 'a b', '', '1.2.3.4/x']) assert.ok('error' in parseFromPatterns(bad), bad);
});
