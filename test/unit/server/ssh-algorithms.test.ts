import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { ALGORITHMS, NIST_KEX, sshAlgorithmsFromEnv } from '../../../src/server/transport/kex-offer.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';

/** OpenSSH's `ssh` limited by `-o` options (a string of `Name=value` joined by spaces). */
async function connects(s: SshShip, options: string): Promise<{ code: number | null; stderr: string }> {
  const r = await s.ssh(['echo ok'], { options: ['-v', ...options.split(' ').flatMap((o) => ['-o', o])] });
  if (r.code === 0) assert.equal(r.stdout.toString(), 'ok\n', options);
  return r;
}

function audit(port: number): string {
  const which = spawnSync('which', ['ssh-audit']);
  assert.equal(which.status, 0, 'ssh-audit is not installed (Debian package ssh-audit, see .ci/run)');
  return spawnSync('ssh-audit', ['-n', '-p', String(port), '127.0.0.1'], { encoding: 'utf8' }).stdout;
}

/** ssh-audit's [fail] and [warn] lines, as "algorithm: level". */
function findings(out: string): string[] {
  return out
    .split('\n')
    .filter((l) => /^\(\w+\) \S+ .*-- \[(fail|warn)\]/.test(l))
    .map((l) => `${l.split(/\s+/)[1]}: ${/\[(fail|warn)\]/.exec(l)?.[1]}`);
}

describe('ssh algorithms', () => {
  let s: SshShip;
  let nist: SshShip;
  before(async () => {
    [s, nist] = await Promise.all([startSshShip(), startSshShip({ env: { STARPHLEET_SSH_NIST_KEX: 'on' } })]);
  });
  after(async () => {
    await Promise.all([s?.ship.stop(), nist?.ship.stop()]);
  });

  it('OpenSSH negotiates every offered key exchange, host key, cipher and MAC, each on its own', async () => {
    const tries = [
      ...ALGORITHMS.kex.map((k) => `KexAlgorithms=${k}`),
      ...ALGORITHMS.serverHostKey.map((k) => `HostKeyAlgorithms=${k}`),
      ...ALGORITHMS.cipher.map((c) => `Ciphers=${c}`),
      // With AES-GCM/ChaCha20 the MAC is implicit: a MAC counts only with a CTR cipher.
      ...ALGORITHMS.hmac.flatMap((m) => [`Ciphers=aes128-ctr MACs=${m}`, `Ciphers=aes256-ctr MACs=${m}`]),
    ];
    for (const o of tries) {
      const r = await connects(s, o);
      assert.equal(r.code, 0, `${o}: ${r.stderr.slice(-600)}`);
      // -v names what was chosen: the one asked for, not a fallback.
      const want = o.split(' ').map((x) => x.split('=')[1] as string);
      for (const w of want) assert.match(r.stderr, new RegExp(`(kex: algorithm|host key algorithm|cipher|MAC): ${w.replace(/[.]/g, '\\.')}`), o);
    }
  });

  it('refuses what is weaker than OpenSSH offers: SHA-1 signatures, key exchanges and MACs, CBC, and the NIST curves unless asked for', async () => {
    for (const o of [
      'HostKeyAlgorithms=ssh-rsa',
      'Ciphers=aes128-ctr MACs=hmac-sha1',
      'Ciphers=aes128-ctr MACs=hmac-sha1-etm@openssh.com',
      'Ciphers=aes256-cbc',
      'KexAlgorithms=diffie-hellman-group14-sha1',
      'KexAlgorithms=diffie-hellman-group1-sha1',
      'KexAlgorithms=diffie-hellman-group-exchange-sha1',
      ...NIST_KEX.map((k) => `KexAlgorithms=${k}`),
    ]) {
      const r = await connects(s, o);
      assert.equal(r.code, 255, o);
      assert.match(r.stderr, /no matching|Unable to negotiate/, o);
    }
  });

  it('ssh-audit reports no failure; its warnings are the Terrapin marker it does not know and the non-ETM MACs', () => {
    const out = audit(s.port);
    assert.deepEqual(findings(out).sort(), ['hmac-sha2-256: warn', 'hmac-sha2-512: warn', 'kex-strict-s-v00@openssh.com: warn'], out);
    assert.doesNotMatch(out, /\(key\) ssh-rsa|\(enc\) aes\d+-cbc|\(mac\) hmac-sha1|nistp/);
    for (const k of ALGORITHMS.kex) assert.match(out, new RegExp(`\\(kex\\) ${k}\\s`), k);
  });

  it('STARPHLEET_SSH_NIST_KEX=on adds ECDH on the NIST curves after curve25519, as OpenSSH orders them; ssh-audit fails exactly those', async () => {
    for (const k of NIST_KEX) {
      const r = await connects(nist, `KexAlgorithms=${k}`);
      assert.equal(r.code, 0, `${k}: ${r.stderr.slice(-600)}`);
    }
    const out = audit(nist.port);
    const kex = out.split('\n').filter((l) => l.startsWith('(kex)')).map((l) => l.split(/\s+/)[1]);
    assert.deepEqual(kex, ['curve25519-sha256', 'curve25519-sha256@libssh.org', ...NIST_KEX, 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group14-sha256', 'kex-strict-s-v00@openssh.com']);
    assert.deepEqual(findings(out).filter((f) => f.endsWith('fail')).sort(), NIST_KEX.map((k) => `${k}: fail`));
  });

  it('a STARPHLEET_SSH_NIST_KEX that is neither on nor off is an error naming it', () => {
    assert.throws(() => sshAlgorithmsFromEnv({ STARPHLEET_SSH_NIST_KEX: 'yes' }), /STARPHLEET_SSH_NIST_KEX must be on or off, got "yes"/);
    assert.deepEqual(sshAlgorithmsFromEnv({}).kex, ALGORITHMS.kex);
  });
});
