import assert from 'node:assert/strict';
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { sftpBatch } from '../../helpers/sftp.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const MiB = 1024 * 1024;
const READ_LEN = 261_120;

function rss(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) * 1024 : 0;
}

/** A TCP relay to the ship whose ship-to-client direction can be stopped: the ship then sees a client not reading. */
function relay(port: number): Promise<{ port: number; stall(): void; close(): void }> {
  let stalled = false;
  const upstreams: net.Socket[] = [];
  const sockets: net.Socket[] = [];
  const server = net.createServer((down) => {
    const up = net.connect(port, '127.0.0.1');
    upstreams.push(up);
    sockets.push(up, down);
    down.on('error', () => up.destroy());
    up.on('error', () => down.destroy());
    down.pipe(up);
    up.on('data', (d: Buffer) => {
      if (stalled) up.pause();
      down.write(d);
    });
    up.on('end', () => down.end());
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: (server.address() as net.AddressInfo).port,
        stall: () => {
          stalled = true;
          for (const u of upstreams) u.pause();
        },
        close: () => {
          for (const x of sockets) x.destroy();
          server.close();
        },
      }),
    ),
  );
}

function packet(type: number, body: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt32BE(body.length + 1, 0);
  head[4] = type;
  return Buffer.concat([head, body]);
}
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};
const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};
const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};

describe('sftp: a client that stops reading cannot grow the ship', () => {
  let s: SshShip;
  before(async () => {
    s = await startSshShip();
    mkdirSync(join(s.ship.dataDir, 'data'), { recursive: true });
    // 1 GiB, sparse: reads cost no disk, and replies are as large as real ones.
    const fd = openSync(join(s.ship.dataDir, 'data', 'huge.bin'), 'w');
    ftruncateSync(fd, 1024 * MiB);
    closeSync(fd);
    writeFileSync(join(s.ship.dataDir, 'data', 'small.txt'), 'still serving\n');
  });
  after(async () => {
    await s?.ship.stop();
  });

  it('announces a 4 GiB window, asks for 500 MiB of reads and reads nothing: the ship stays within its bound', async (t) => {
    const r = await relay(s.ship.sshPort);
    const client = new ssh2.Client();
    try {
      await new Promise<void>((resolve, reject) => {
        client.on('ready', () => resolve()).on('error', reject);
        client.connect({ host: '127.0.0.1', port: r.port, username: 'admiral', privateKey: readFileSync(s.admiral.privatePath) });
      });
      // The hostile part: the session channel is opened with the largest window SSH allows, so the ship's channel
      // never holds data back and only the ship's own bound on its socket can stop it.
      const proto = (client as unknown as { _protocol: { session(chan: number, win: number, pkt: number): void } })._protocol;
      const open = proto.session.bind(proto);
      proto.session = (chan, _win, pkt) => open(chan, 0xffff_ffff, pkt);
      const stream = await new Promise<ssh2.ClientChannel>((resolve, reject) => client.subsys('sftp', (e, ch) => (e ? reject(e) : resolve(ch))));
      let got = Buffer.alloc(0);
      stream.on('data', (d: Buffer) => (got = Buffer.concat([got, d])));
      stream.write(packet(1, u32(3)));
      await waitFor(() => got.length >= 9, 'VERSION reply', 30_000);
      got = Buffer.alloc(0);
      stream.write(packet(3, Buffer.concat([u32(1), str('/data/huge.bin'), u32(1), u32(0)])));
      await waitFor(() => got.length >= 9, 'HANDLE reply', 30_000);
      assert.equal(got[4], 102, 'HANDLE');
      const handle = got.subarray(13, 13 + got.readUInt32BE(9));

      const pid = s.ship.child.pid as number;
      const before = rss(pid);
      r.stall();
      const n = 2000;
      for (let i = 0; i < n; i++) stream.write(packet(5, Buffer.concat([u32(100 + i), str(handle), u64(i * READ_LEN), u32(READ_LEN)])));
      let peak = before;
      for (let i = 0; i < 50; i++) {
        await new Promise((res) => setTimeout(res, 100));
        peak = Math.max(peak, rss(pid));
      }
      const grew = peak - before;
      t.diagnostic(`ship RSS ${(before / MiB).toFixed(0)} MiB before, peak ${(peak / MiB).toFixed(0)} MiB while stalled`);
      assert.ok(grew < 64 * MiB, `ship RSS grew by ${(grew / MiB).toFixed(1)} MiB while ${((n * READ_LEN) / MiB).toFixed(0)} MiB were asked for`);

      // The stuck session holds nobody else up: a new session (not through the relay) is served.
      const ok = await sftpBatch({ key: s.admiral.privatePath, port: s.ship.sshPort, lines: ['get /data/small.txt'], cwd: tmpDir('sp-bp-') });
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(readFileSync(join(ok.cwd, 'small.txt'), 'utf8'), 'still serving\n');
    } finally {
      client.destroy();
      r.close();
    }
  });
});
