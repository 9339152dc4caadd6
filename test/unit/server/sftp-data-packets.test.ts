import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ALGORITHMS } from '../../../src/server/transport/kex-offer.js';
import { checkPacketInternals } from '../../../src/server/sftp/data-packets.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { PYTHON } from '../../helpers/python.js';

/**
 * READ replies go out as SSH packets built in place and encrypted by ssh2's cipher objects (data-packets.ts,
 * channel-sender.ts); whatever the cipher, MAC, window, packet size or a key re-exchange in the middle, the client
 * must get the file's bytes.
 */
describe('sftp downloads through the in-place packet path: byte-exact for every cipher and MAC, across rekeys and small windows', () => {
  let s: SshShip;
  let data: Buffer;
  before(async () => {
    s = await startSshShip();
    mkdirSync(join(s.ship.dataDir, 'data'), { recursive: true });
    // Not a multiple of any read or packet size: the last read comes short.
    data = randomBytes(3 * 1024 * 1024 + 12345);
    writeFileSync(join(s.ship.dataDir, 'data', 'file.bin'), data);
    writeFileSync(join(s.ship.dataDir, 'data', 'big.bin'), Buffer.concat([data, data, data, data, data, data, data, data]));
  });
  after(async () => {
    await s?.ship.stop();
  });

  const get = async (remote: string, options: readonly string[]): Promise<Buffer> => {
    const cwd = tmpDir('sp-dp-');
    const r = await sftpBatch({ key: s.admiral.privatePath, port: s.port, lines: [`get ${remote} out.bin`], cwd, options, timeoutMs: 120_000 });
    assert.equal(r.code, 0, `${options.join(' ')}: ${r.stderr}`);
    return readFileSync(join(cwd, 'out.bin'));
  };

  it('every cipher, and every MAC with CTR', async () => {
    const tries = [
      ...ALGORITHMS.cipher.filter((c) => !c.endsWith('-ctr')).map((c) => ['-o', `Ciphers=${c}`]),
      ...ALGORITHMS.cipher.filter((c) => c.endsWith('-ctr')).flatMap((c) => ALGORITHMS.hmac.map((m) => ['-o', `Ciphers=${c}`, '-o', `MACs=${m}`])),
    ];
    for (const o of tries) assert.ok((await get('/data/file.bin', o)).equals(data), o.join(' '));
  });

  it('a key re-exchange every 256 KiB during a 24 MiB download (the packets of a rekey go through ssh2 as usual)', async () => {
    for (const c of ['aes128-gcm@openssh.com', 'chacha20-poly1305@openssh.com']) {
      const got = await get('/data/big.bin', ['-o', `Ciphers=${c}`, '-o', 'RekeyLimit=256K']);
      assert.equal(got.length, data.length * 8, c);
      for (let i = 0; i < 8; i++) assert.ok(got.subarray(i * data.length, (i + 1) * data.length).equals(data), `${c}: copy ${i}`);
    }
  });

  it('a client with a window smaller than a read and small packets (paramiko, 40,000-byte window, 9,000-byte packets)', () => {
    const out = join(tmpDir('sp-dp-paramiko-'), 'out.bin');
    const script = `
import sys, socket, paramiko
port, key, out, window, packet = int(sys.argv[1]), sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
t = paramiko.Transport(socket.create_connection(('127.0.0.1', port)), default_window_size=window, default_max_packet_size=packet)
t.connect(username='admiral', pkey=paramiko.Ed25519Key.from_private_key_file(key))
sftp = paramiko.SFTPClient.from_transport(t, window_size=window, max_packet_size=packet)
sftp.get('/data/file.bin', out)
t.close()
`;
    for (const [window, packet] of [[40_000, 9_000], [100_000, 2_000]]) {
      const r = spawnSync(PYTHON, ['-c', script, String(s.port), s.admiral.privatePath, out, String(window), String(packet)], { encoding: 'utf8', timeout: 120_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.ok(readFileSync(out).equals(data), `window ${window}, packets ${packet}`);
    }
  });

  it('the ssh2 internals the path relies on are checked at start-up, and a changed padding rule stops it by name', () => {
    checkPacketInternals();
    const fake = tmpDir('sp-ssh2-packets-');
    cpSync(dirname(createRequire(import.meta.url).resolve('ssh2/package.json')), fake, { recursive: true });
    const crypto = join(fake, 'lib', 'protocol', 'crypto.js');
    writeFileSync(crypto, readFileSync(crypto, 'utf8').replaceAll('let padLen = 16 - ((pktLen - 4) & (16 - 1));', 'let padLen = 16 - (pktLen & (16 - 1));'));
    assert.throws(() => checkPacketInternals(fake), /ssh2 internals are not as starphleet's SFTP expects \(no "let padLen = 16 - \(\(pktLen - 4\) & \(16 - 1\)\);" in lib\/protocol\/crypto\.js AESGCMCipherBinding/);
  });
});
