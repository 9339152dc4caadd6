import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { startSshShip, type SshShip } from './helpers/ssh.js';

describe('ssh algorithms', () => {
  let s: SshShip;
  before(async () => {
    s = await startSshShip();
  });
  after(async () => {
    await s?.ship.stop();
  });

  it('negotiates each modern algorithm with OpenSSH', async () => {
    for (const o of [
      'KexAlgorithms=curve25519-sha256',
      'KexAlgorithms=curve25519-sha256@libssh.org',
      'HostKeyAlgorithms=ssh-ed25519',
      'HostKeyAlgorithms=rsa-sha2-512',
      'HostKeyAlgorithms=rsa-sha2-256',
      'Ciphers=chacha20-poly1305@openssh.com',
      'Ciphers=aes256-gcm@openssh.com',
      'Ciphers=aes128-gcm@openssh.com',
    ]) {
      const r = await s.ssh(['echo ok'], { options: ['-o', o] });
      assert.equal(r.code, 0, `${o}: ${r.stderr}`);
    }
  });

  it('refuses legacy ones: SHA-1 host key signatures, CBC ciphers, non-ETM MACs, old key exchanges', async () => {
    for (const o of [
      'HostKeyAlgorithms=ssh-rsa',
      // With AES-GCM/ChaCha20 the MAC is implicit; a MAC choice counts only with a CTR cipher.
      'Ciphers=aes128-ctr -o MACs=hmac-sha2-256',
      'Ciphers=aes256-cbc',
      'KexAlgorithms=diffie-hellman-group14-sha256',
      'KexAlgorithms=ecdh-sha2-nistp256',
    ]) {
      const r = await s.ssh(['echo ok'], { options: ['-v', '-o', ...o.split(' -o ').join('\0-o\0').split('\0')] });
      assert.equal(r.code, 255, o);
      assert.match(r.stderr, /no matching|Unable to negotiate/, o);
    }
  });

  it('ssh-audit reports no failure', () => {
    const which = spawnSync('which', ['ssh-audit']);
    assert.equal(which.status, 0, 'ssh-audit is not installed (Debian package ssh-audit, see .ci/run)');
    const r = spawnSync('ssh-audit', ['-n', '-p', String(s.port), '127.0.0.1'], { encoding: 'utf8' });
    assert.doesNotMatch(r.stdout, /\[fail\]/, r.stdout);
    // ssh-audit 2.5 (Debian 12) does not know kex-strict-s-v00@openssh.com, the Terrapin countermeasure; that is
    // its only warning, and the reason it exits 2 rather than 0.
    const warnings = r.stdout.split('\n').filter((l) => /\[warn\]/.test(l));
    assert.deepEqual(warnings.map((l) => l.trim().split(/\s+/)[1]), warnings.length ? ['kex-strict-s-v00@openssh.com'] : []);
    assert.doesNotMatch(r.stdout, /\(key\) ssh-rsa|\(enc\) aes\d+-cbc|\(mac\) hmac-sha1/);
    // The CTR ciphers are offered (for paramiko and Java tooling) and pass.
    for (const c of ['aes128-ctr', 'aes192-ctr', 'aes256-ctr']) assert.match(r.stdout, new RegExp(`\\(enc\\) ${c}`), c);
  });
});
