import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type ssh2 from 'ssh2';
import { registryPaths } from '../../../src/data-dir/registry-paths.js';
import { packet, rawSftp, type Raw, sshClient, statusOf, str, u32, u64 } from '../../helpers/sftp-raw.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');
const OPEN_WRITE = 0x02 | 0x08 | 0x10;

/**
 * Uploads are stored by the sha256 of their bytes (uploads.ts), hashed on a worker thread while they arrive
 * (hash-worker.ts) when written front to back, from the file itself otherwise.
 */
describe('sftp uploads: the stored name is the sha256 of the bytes, however they were written', () => {
  let s: SshShip;
  const clients: ssh2.Client[] = [];
  before(async () => {
    s = await startSshShip();
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await s?.ship.stop();
  });

  const stored = (data: Buffer): Buffer | null => {
    const p = registryPaths.upload(s.ship.dataDir, sha256(data));
    return existsSync(p) ? readFileSync(p) : null;
  };
  const sftp = async (): Promise<Raw> => {
    const client = await sshClient({ port: s.port, key: s.admiral.privatePath });
    clients.push(client);
    return rawSftp(client);
  };
  const upload = async (raw: Raw, name: string, writes: readonly (readonly [number, Buffer])[]): Promise<number> => {
    raw.send(packet(3, u32(1), str(`/incoming/${name}`), u32(OPEN_WRITE), u32(0)));
    const h = await raw.reply();
    assert.equal(h[0], 102, 'HANDLE');
    const handle = h.subarray(9, 9 + h.readUInt32BE(5));
    writes.forEach(([offset, data], i) => raw.send(packet(6, u32(10 + i), str(handle), u64(offset), str(data))));
    for (let i = 0; i < writes.length; i++) assert.equal(statusOf(await raw.reply()).code, 0, `WRITE ${i}`);
    raw.send(packet(4, u32(99), str(handle)));
    return statusOf(await raw.reply()).code;
  };

  it('OpenSSH sftp put of 40 MiB: stored under its sha256, byte for byte', async () => {
    const dir = tmpDir('sp-up-');
    const data = randomBytes(40 * 1024 * 1024);
    writeFileSync(join(dir, 'big.bin'), data);
    const r = await sftpBatch({ key: s.admiral.privatePath, port: s.port, lines: ['put big.bin /incoming/big.bin'], cwd: dir, timeoutMs: 180_000 });
    assert.equal(r.code, 0, r.stderr);
    assert.ok(stored(data)?.equals(data), 'stored under the sha256 of what was sent');
  });

  it('small writes, and writes front to back in many sizes, are hashed as they come', async () => {
    const raw = await sftp();
    const data = randomBytes(300_001);
    const writes: [number, Buffer][] = [];
    for (let at = 0, n = 1; at < data.length; at += n, n = Math.min(n * 3, 100_000)) writes.push([at, data.subarray(at, Math.min(at + n, data.length))]);
    assert.equal(await upload(raw, 'sizes.bin', writes), 0);
    assert.ok(stored(data)?.equals(data));
    const tiny = Buffer.from('x');
    assert.equal(await upload(raw, 'tiny', [[0, tiny]]), 0);
    assert.ok(stored(tiny)?.equals(tiny));
  });

  it('writes out of order, or one rewriting bytes already written, are hashed from the file at close', async () => {
    const raw = await sftp();
    const data = randomBytes(4 * 65536);
    const reversed: [number, Buffer][] = [3, 2, 1, 0].map((i) => [i * 65536, data.subarray(i * 65536, (i + 1) * 65536)]);
    assert.equal(await upload(raw, 'reversed.bin', reversed), 0);
    assert.ok(stored(data)?.equals(data));
    const first = data.subarray(0, 100_000);
    const final = Buffer.concat([Buffer.from('REWRITTEN'), first.subarray(9)]);
    assert.equal(await upload(raw, 'rewritten.bin', [[0, first], [0, Buffer.from('REWRITTEN')]]), 0);
    assert.ok(stored(final)?.equals(final), 'the name is the hash of what the file holds, not of every WRITE');
    assert.equal(stored(first), null);
  });

  it('the quota counts an upload once however many WRITEs are in flight: a file of exactly the quota fits, and again once removed', async () => {
    const q = await startSshShip({ env: { STARPHLEET_INCOMING_MAX_BYTES: String(8 * 1024 * 1024) } });
    try {
      const dir = tmpDir('sp-quota-');
      const data = randomBytes(8 * 1024 * 1024);
      writeFileSync(join(dir, 'q.bin'), data);
      const client = await sshClient({ port: q.port, key: q.admiral.privatePath });
      clients.push(client);
      const put = (name: string): Promise<string> =>
        new Promise((resolve) => client.sftp((e, sftp) => (e ? resolve(e.message) : sftp.fastPut(join(dir, 'q.bin'), `/incoming/${name}`, { chunkSize: 65536, concurrency: 32 }, (err) => resolve(err?.message ?? 'ok')))));
      assert.equal(await put('one.bin'), 'ok');
      const path = registryPaths.upload(q.ship.dataDir, sha256(data));
      assert.ok(readFileSync(path).equals(data));
      assert.match(await put('two.bin'), /over the incoming quota \(STARPHLEET_INCOMING_MAX_BYTES = 8388608 bytes\)/);
      rmSync(path);
      // The stored bytes are counted again at most a second later.
      await new Promise((r) => setTimeout(r, 1100));
      assert.equal(await put('three.bin'), 'ok', 'nothing stayed reserved by the uploads before');
    } finally {
      await q.ship.stop();
    }
  });
});
