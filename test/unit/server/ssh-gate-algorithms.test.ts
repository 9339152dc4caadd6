import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { checkSsh2Internals, SSH2_VERSION } from '../../../src/server/transport/kex-offer.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { PYTHON } from '../../helpers/python.js';


describe('ssh: RSA client signatures, CTR ciphers for older libraries, ssh2 pinned and checked', () => {
  let s: SshShip;
  before(async () => {
    s = await startSshShip({ admirals: { rsa: '' }, keyTypes: { rsa: 'rsa' } });
  });
  after(async () => {
    await s?.ship.stop();
  });
  const rsaKey = (): string => s.keys.rsa?.privatePath ?? '';
  /** Runs a paramiko script body (client `c` made, `sys` imported) against the ship with the given key. */
  const paramiko = (body: string, key: string): { status: number | null; stdout: string; stderr: string } => {
    const script = join(tmpDir('sp-paramiko-'), 'p.py');
    writeFileSync(script, `import sys, paramiko\nc = paramiko.SSHClient()\nc.set_missing_host_key_policy(paramiko.AutoAddPolicy())\n${body.trim()}\nc.close()\n`);
    const r = spawnSync(PYTHON, [script, String(s.port), key], { encoding: 'utf8', timeout: 60_000 });
    return { status: r.status, stdout: r.stdout, stderr: r.stderr };
  };

  it('an RSA key signs in with rsa-sha2-256 and with rsa-sha2-512', async () => {
    for (const alg of ['rsa-sha2-256', 'rsa-sha2-512']) {
      const r = await s.ssh(['echo', alg], { key: rsaKey(), options: ['-o', `PubkeyAcceptedAlgorithms=${alg}`] });
      assert.equal(r.code, 0, `${alg}: ${r.stderr}`);
      assert.equal(r.stdout.toString(), `${alg}\n`);
    }
  });

  it('an RSA key is refused with ssh-rsa (SHA-1) signatures, and the refusal is counted with its reason', async () => {
    // OpenSSH limited to ssh-rsa does not even try: the server does not advertise it.
    const r = await s.ssh(['true'], { key: rsaKey(), options: ['-o', 'PubkeyAcceptedAlgorithms=ssh-rsa'] });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    // paramiko made to sign with ssh-rsa (SHA-1) whatever the server advertises: the server must refuse that
    // signature itself. The same script signing with rsa-sha2-512 logs in, so the refusal is the hash's.
    const login = (alg: string): ReturnType<typeof paramiko> =>
      paramiko(`
paramiko.auth_handler.AuthHandler._finalize_pubkey_algorithm = lambda self, key_type: '${alg}'
c.connect('127.0.0.1', port=int(sys.argv[1]), username='admiral', pkey=paramiko.RSAKey.from_private_key_file(sys.argv[2]), allow_agent=False, look_for_keys=False)
print('logged in')
`, rsaKey());
    const control = login('rsa-sha2-512');
    assert.equal(control.status, 0, control.stderr);
    const py = login('ssh-rsa');
    assert.notEqual(py.status, 0, 'an ssh-rsa (SHA-1) signature logged in');
    assert.match(py.stderr, /AuthenticationException|Authentication failed/);
    const f = await s.ssh(['starphleet', 'audit', '--failures']);
    assert.match(f.stdout.toString(), new RegExp(`${s.keys.rsa?.fingerprint.replace(/[+/]/g, '\\$&')} from 127\\.0\\.0\\.1 \\(publickey\\): ssh-rsa \\(SHA-1\\) signatures are refused`));
  });

  it('the server advertises rsa-sha2-512 and rsa-sha2-256 (not ssh-rsa) in server-sig-algs', async () => {
    const r = await s.ssh(['true'], { options: ['-vv'] });
    assert.equal(r.code, 0, r.stderr);
    const line = /server-sig-algs=<([^>]*)>/.exec(r.stderr);
    assert.ok(line, r.stderr.slice(0, 3000));
    const algs = (line[1] ?? '').split(',');
    assert.ok(algs.includes('rsa-sha2-512') && algs.includes('rsa-sha2-256') && algs.includes('ssh-ed25519'), line[1]);
    assert.ok(!algs.includes('ssh-rsa') && !algs.includes('ssh-dss'), line[1]);
  });

  it('a client limited to -c aes128-ctr -m hmac-sha2-256-etm@openssh.com connects (and the other CTR/ETM pairs)', async () => {
    for (const [c, m] of [['aes128-ctr', 'hmac-sha2-256-etm@openssh.com'], ['aes192-ctr', 'hmac-sha2-512-etm@openssh.com'], ['aes256-ctr', 'hmac-sha2-256-etm@openssh.com']]) {
      const r = await s.ssh(['echo ok'], { options: ['-c', c as string, '-m', m as string] });
      assert.equal(r.code, 0, `${c} ${m}: ${r.stderr}`);
      assert.equal(r.stdout.toString(), 'ok\n');
    }
  });

  it('paramiko (no AES-GCM, no ChaCha20) connects with a CTR cipher and runs a command', () => {
    const r = paramiko(`
c.connect('127.0.0.1', port=int(sys.argv[1]), username='admiral', key_filename=sys.argv[2], allow_agent=False, look_for_keys=False)
t = c.get_transport()
_, out, _ = c.exec_command('echo from-paramiko')
print(t.remote_cipher, t.remote_mac, out.read().decode().strip())
`, s.admiral.privatePath);
    assert.equal(r.status, 0, r.stderr);
    // paramiko 2.12 lists the non-ETM MACs first: it takes hmac-sha2-256 from the ship as it does from OpenSSH's sshd.
    assert.match(r.stdout, /^aes\d+-ctr hmac-sha2-(256|512)(-etm@openssh\.com)? from-paramiko$/m);
  });

  it('ssh2 is pinned exactly, its internals pass the start-up check, and a different ssh2 is refused by name', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    assert.equal(pkg.dependencies.ssh2, SSH2_VERSION);
    checkSsh2Internals();
    const real = dirname(createRequire(import.meta.url).resolve('ssh2/package.json'));
    const fake = tmpDir('sp-ssh2-');
    cpSync(join(real, 'package.json'), join(fake, 'package.json'));
    mkdirSync(join(fake, 'lib', 'protocol'), { recursive: true });
    cpSync(join(real, 'lib', 'protocol', 'Protocol.js'), join(fake, 'lib', 'protocol', 'Protocol.js'));
    checkSsh2Internals(fake);
    const manifest = JSON.parse(readFileSync(join(fake, 'package.json'), 'utf8')) as { version: string };
    writeFileSync(join(fake, 'package.json'), JSON.stringify({ ...manifest, version: '1.18.0' }));
    assert.throws(() => checkSsh2Internals(fake), /^Error: ssh2 1\.18\.0 internals are not as starphleet expects \(version 1\.18\.0 is installed\); starphleet needs ssh2 1\.17\.0 exactly$/);
    writeFileSync(join(fake, 'package.json'), JSON.stringify(manifest));
    const src = readFileSync(join(fake, 'lib', 'protocol', 'Protocol.js'), 'utf8');
    writeFileSync(join(fake, 'lib', 'protocol', 'Protocol.js'), src.replace('sendExtInfo(this);', 'sendExtensionInfo(this);'));
    assert.throws(() => checkSsh2Internals(fake), /ssh2 1\.17\.0 internals are not as starphleet expects \(lib\/protocol\/Protocol\.js has no "sendExtInfo\(this\);"\)/);
  });
});
