import assert from 'node:assert/strict';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { readOnlyMode } from '../../../src/server/sftp/attrs.js';
import { checkSocketInternals } from '../../../src/server/sftp/outbound.js';
import { MAX_PACKET, PacketReader } from '../../../src/server/sftp/wire.js';
import { openForRead, packet, rawSftp, Raw, sshClient, statusOf, str, u32, u64 } from '../../helpers/sftp-raw.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

describe('sftp protocol: what a hostile or odd client gets', () => {
  let s: SshShip;
  const clients: ssh2.Client[] = [];
  before(async () => {
    s = await startSshShip();
    mkdirSync(join(s.ship.dataDir, 'data'), { recursive: true });
    writeFileSync(join(s.ship.dataDir, 'data', 'one-mib.bin'), Buffer.alloc(1024 * 1024, 1));
  });
  after(async () => {
    for (const c of clients) c.destroy();
    await s?.ship.stop();
  });

  const open = async (init = true): Promise<Raw> => {
    const client = await sshClient({ port: s.ship.sshPort, key: s.admiral.privatePath });
    clients.push(client);
    return rawSftp(client, init);
  };
  const openFile = (raw: Raw, path: string): Promise<Buffer> => openForRead(raw, path);

  it('VERSION 3 names limits@, statvfs@, fstatvfs@ and the hash extensions, and limits@ answers the limits the ship enforces', async () => {
    const raw = await open(false);
    raw.send(packet(1, u32(6)));
    const v = await raw.reply();
    assert.equal(v[0], 2);
    assert.equal(v.readUInt32BE(1), 3, 'version 3, whatever the client asked');
    const names: string[] = [];
    for (let p = 5; p < v.length; ) {
      const n = v.readUInt32BE(p);
      names.push(v.subarray(p + 4, p + 4 + n).toString());
      p += 4 + n;
      p += 4 + v.readUInt32BE(p);
    }
    assert.deepEqual(names, ['limits@openssh.com', 'statvfs@openssh.com', 'fstatvfs@openssh.com', 'check-file', 'md5-hash', 'md5-hash-handle']);
    raw.send(packet(200, u32(9), str('limits@openssh.com')));
    const l = await raw.reply();
    assert.equal(l[0], 201);
    assert.equal(l.readUInt32BE(1), 9);
    assert.deepEqual([0, 1, 2, 3].map((i) => Number(l.readBigUInt64BE(5 + 8 * i))), [262144, 261120, 261120, 256]);
  });

  it('a READ asking for 1 MiB gets at most the read length; replies come in request order', async () => {
    const raw = await open();
    const h = await openFile(raw, '/data/one-mib.bin');
    for (let i = 0; i < 5; i++) raw.send(packet(5, u32(20 + i), str(h), u64(i * 261_120), u32(1024 * 1024)));
    let total = 0;
    for (let i = 0; i < 5; i++) {
      const r = await raw.reply();
      assert.equal(r.readUInt32BE(1), 20 + i, 'in order');
      if (i < 5 && r[0] === 103) {
        const n = r.readUInt32BE(5);
        assert.ok(n <= 261_120, `data of ${n} bytes`);
        total += n;
      } else assert.equal(statusOf(r).code, 1, 'EOF');
    }
    assert.equal(total, 1024 * 1024);
  });

  it('writes, handles it never gave out and truncated requests get a status; the session goes on', async () => {
    const raw = await open();
    raw.send(packet(3, u32(30), str('/data/new.txt'), u32(0x02 | 0x08), u32(0)));
    assert.deepEqual(statusOf(await raw.reply()), { id: 30, code: 3 });
    raw.send(packet(6, u32(31), str(Buffer.from([0, 0, 0, 1])), u64(0), str('x')));
    assert.deepEqual(statusOf(await raw.reply()), { id: 31, code: 3 });
    raw.send(packet(200, u32(32), str('posix-rename@openssh.com'), str('/data/one-mib.bin'), str('/data/x')));
    assert.deepEqual(statusOf(await raw.reply()), { id: 32, code: 3 });
    raw.send(packet(5, u32(33), str(Buffer.from('forged-handle')), u64(0), u32(10)));
    assert.deepEqual(statusOf(await raw.reply()), { id: 33, code: 4 });
    raw.send(packet(5, u32(34), u32(200)));
    assert.deepEqual(statusOf(await raw.reply()), { id: 34, code: 4 });
    raw.send(packet(17, u32(35), str('/../../etc/passwd')));
    assert.deepEqual(statusOf(await raw.reply()), { id: 35, code: 2 });
    raw.send(packet(99, u32(36)));
    assert.deepEqual(statusOf(await raw.reply()), { id: 36, code: 8 });
    raw.send(packet(17, u32(37), str('/data/one-mib.bin')));
    const a = await raw.reply();
    assert.equal(a[0], 105, 'ATTRS: the session still answers');
    assert.equal(readFileSync(join(s.ship.dataDir, 'data', 'one-mib.bin')).length, 1024 * 1024);
  });

  it('a packet over 256 KiB, or a request before INIT, closes the channel; the ship keeps serving', async () => {
    const big = await open();
    big.send(Buffer.concat([u32(MAX_PACKET + 1), Buffer.from([17])]));
    await waitFor(() => big.closed, 'the oversized session to be closed', 30_000);
    const early = await open(false);
    early.send(packet(17, u32(1), str('/')));
    await waitFor(() => early.closed, 'the uninitialised session to be closed', 30_000);
    const r = await sftpBatch({ key: s.admiral.privatePath, port: s.ship.sshPort, lines: ['ls /data'], cwd: tmpDir('sp-proto-') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /one-mib\.bin/);
  });
});

describe('sftp wire and modes (units)', () => {
  it('the packet reader reassembles split packets and refuses oversized ones', () => {
    const r = new PacketReader();
    const p = packet(17, u32(5), str('/data'));
    r.push(p.subarray(0, 3));
    assert.equal(r.next(), null);
    r.push(Buffer.concat([p.subarray(3), p.subarray(0, 6)]));
    assert.deepEqual(r.next(), p.subarray(4));
    assert.equal(r.next(), null);
    r.push(p.subarray(6));
    assert.deepEqual(r.next(), p.subarray(4));
    const bad = new PacketReader();
    bad.push(u32(MAX_PACKET + 1));
    assert.throws(() => bad.next(), /limit/);
  });

  it('every mode is read-only: no write bit, executables and directories r-x', () => {
    assert.equal(readOnlyMode(0o100666), 0o100444);
    assert.equal(readOnlyMode(0o100764), 0o100555);
    assert.equal(readOnlyMode(0o040777), 0o040555);
    assert.equal(readOnlyMode(0o120777), 0o120555);
    assert.equal(readOnlyMode(0o104755) & 0o7000, 0, 'no setuid shown');
  });

  it('the ssh2 internals the socket watch needs are checked, and a changed ssh2 is named', () => {
    checkSocketInternals();
    const fake = tmpDir('sp-ssh2-');
    cpSync(dirname(createRequire(import.meta.url).resolve('ssh2/package.json')), fake, { recursive: true });
    const server = join(fake, 'lib', 'server.js');
    writeFileSync(server, readFileSync(server, 'utf8').replace('this._sock = socket;', 'this._socket = socket;'));
    assert.throws(() => checkSocketInternals(fake), /ssh2 internals are not as starphleet's SFTP expects \(lib\/server\.js has no "this\._sock = socket;"/);
  });
});
