import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import ssh2 from 'ssh2';
import { PacketReader } from '../../src/server/sftp/wire.js';
import { waitFor } from './wait.js';

export const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(v);
  return b;
};
export const u64 = (v: number): Buffer => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(BigInt(v));
  return b;
};
export const str = (s: string | Buffer): Buffer => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([u32(b.length), b]);
};
export const packet = (type: number, ...fields: Buffer[]): Buffer => {
  const body = Buffer.concat(fields);
  return Buffer.concat([u32(body.length + 1), Buffer.from([type]), body]);
};

/** A raw SFTP conversation over the ssh2 client's subsystem channel: send packets, take replies in order. */
export class Raw {
  private readonly reader = new PacketReader();
  private readonly replies: Buffer[] = [];
  closed = false;
  constructor(readonly stream: ssh2.ClientChannel) {
    stream.on('data', (d: Buffer) => {
      this.reader.push(d);
      for (let p = this.reader.next(); p !== null; p = this.reader.next()) this.replies.push(p);
    });
    stream.on('close', () => (this.closed = true));
  }
  send(p: Buffer): void {
    this.stream.write(p);
  }
  async reply(): Promise<Buffer> {
    await waitFor(() => this.replies.length > 0 || this.closed, 'an SFTP reply', 30_000);
    const r = this.replies.shift();
    if (!r) throw new Error('channel closed without a reply');
    return r;
  }
}

export const statusOf = (r: Buffer): { id: number; code: number } => {
  assert.equal(r[0], 101, `STATUS expected, got type ${r[0]}`);
  return { id: r.readUInt32BE(1), code: r.readUInt32BE(5) };
};

/** An ssh2 client logged in as `user` (admiral by default), with the given algorithms if any. */
export async function sshClient(o: { port: number; key: string; user?: string; algorithms?: ssh2.Algorithms }): Promise<ssh2.Client> {
  const client = new ssh2.Client();
  await new Promise<void>((resolve, reject) => {
    client.on('ready', () => resolve()).on('error', reject);
    client.connect({ host: '127.0.0.1', port: o.port, username: o.user ?? 'admiral', privateKey: readFileSync(o.key), ...(o.algorithms ? { algorithms: o.algorithms } : {}) });
  });
  return client;
}

/** A raw SFTP session on the client, past INIT/VERSION unless `init` is false. */
export async function rawSftp(client: ssh2.Client, init = true): Promise<Raw> {
  const raw = new Raw(await new Promise<ssh2.ClientChannel>((resolve, reject) => client.subsys('sftp', (e, ch) => (e ? reject(e) : resolve(ch)))));
  if (init) {
    raw.send(packet(1, u32(3)));
    const v = await raw.reply();
    assert.equal(v[0], 2, 'VERSION');
  }
  return raw;
}

/** OPEN for reading: the handle. */
export async function openForRead(raw: Raw, path: string, id = 7): Promise<Buffer> {
  raw.send(packet(3, u32(id), str(path), u32(1), u32(0)));
  const h = await raw.reply();
  assert.equal(h[0], 102, `HANDLE expected for ${path}, got type ${h[0]}`);
  return h.subarray(9, 9 + h.readUInt32BE(5));
}
