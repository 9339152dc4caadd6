import { HASHES } from './file-hash.js';

/**
 * SFTP version 3 on the wire (draft-ietf-secsh-filexfer-02, plus OpenSSH's limits@ and statvfs@ extensions): packet
 * types, a reader for request fields and builders for every reply the read-only view sends.
 */

export const FXP = {
  INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, WRITE: 6, LSTAT: 7, FSTAT: 8, SETSTAT: 9, FSETSTAT: 10, OPENDIR: 11,
  READDIR: 12, REMOVE: 13, MKDIR: 14, RMDIR: 15, REALPATH: 16, STAT: 17, RENAME: 18, READLINK: 19, SYMLINK: 20,
  STATUS: 101, HANDLE: 102, DATA: 103, NAME: 104, ATTRS: 105, EXTENDED: 200, EXTENDED_REPLY: 201,
} as const;

export const STATUS = { OK: 0, EOF: 1, NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, BAD_MESSAGE: 5, OP_UNSUPPORTED: 8 } as const;

export const OPEN_FLAGS = { READ: 0x01, WRITE: 0x02, APPEND: 0x04, CREAT: 0x08, TRUNC: 0x10, EXCL: 0x20 } as const;

/** What OpenSSH's sftp-server allows: a packet of 256 KiB, reads of 256 KiB minus room for the header. */
export const MAX_PACKET = 256 * 1024;
export const MAX_READ = MAX_PACKET - 1024;
/** The bytes in front of a READ's data in its DATA reply: length, type, request id, data length. */
export const DATA_HEADER = 13;

export interface Attrs {
  readonly size: number;
  readonly uid: number;
  readonly gid: number;
  readonly mode: number;
  readonly atime: number;
  readonly mtime: number;
}

export interface NameEntry {
  readonly filename: string;
  readonly longname: string;
  /** null: no attributes (REALPATH and READLINK answers carry none). */
  readonly attrs: Attrs | null;
}

/** A request's fields, read in order. Any read past the end throws: the request is malformed. */
export class Fields {
  private pos = 0;
  constructor(private readonly buf: Buffer) {}

  u8(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }
  u32(): number {
    this.need(4);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }
  u64(): number {
    this.need(8);
    const v = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    // Offsets past 2^53 cannot be represented exactly; no file here is that large.
    return v > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(v);
  }
  bytes(): Buffer {
    const n = this.u32();
    this.need(n);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }
  string(): string {
    return this.bytes().toString('utf8');
  }
  private need(n: number): void {
    if (this.pos + n > this.buf.length) throw new Error('SFTP request shorter than its fields');
  }
}

/** Builds one packet: the 4-byte length is filled in by finish(). */
class Packet {
  private parts: Buffer[] = [];
  private size = 0;
  constructor(type: number, id?: number) {
    this.u32(0);
    this.u8(type);
    if (id !== undefined) this.u32(id);
  }
  u8(v: number): this {
    return this.push(Buffer.from([v]));
  }
  u32(v: number): this {
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(v >>> 0);
    return this.push(b);
  }
  u64(v: number): this {
    const b = Buffer.allocUnsafe(8);
    b.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(v))));
    return this.push(b);
  }
  string(s: string | Buffer): this {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    return this.u32(b.length).push(b);
  }
  raw(b: Buffer): this {
    return this.push(b);
  }
  attrs(a: Attrs | null): this {
    if (a === null) return this.u32(0);
    // SIZE | UIDGID | PERMISSIONS | ACMODTIME
    return this.u32(0x0f).u64(a.size).u32(a.uid).u32(a.gid).u32(a.mode).u32(a.atime).u32(a.mtime);
  }
  finish(): Buffer {
    const out = Buffer.concat(this.parts, this.size);
    out.writeUInt32BE(this.size - 4, 0);
    return out;
  }
  private push(b: Buffer): this {
    this.parts.push(b);
    this.size += b.length;
    return this;
  }
}

/** Extensions the VERSION reply names (name, version), and only those that are answered. */
export const EXTENSIONS: readonly (readonly [string, string])[] = [
  ['limits@openssh.com', '1'],
  ['statvfs@openssh.com', '2'],
  ['fstatvfs@openssh.com', '2'],
  // hash-extensions.ts; check-file's value is the hashes it can do, as other servers announce it.
  ['check-file', HASHES.join(',')],
  ['md5-hash', '1'],
  ['md5-hash-handle', '1'],
];

function writeDataHead(buf: Buffer, id: number, n: number): void {
  buf.writeUInt32BE(DATA_HEADER - 4 + n, 0);
  buf[4] = FXP.DATA;
  buf.writeUInt32BE(id, 5);
  buf.writeUInt32BE(n, 9);
}

export const reply = {
  version(): Buffer {
    const p = new Packet(FXP.VERSION).u32(3);
    for (const [name, v] of EXTENSIONS) p.string(name).string(v);
    return p.finish();
  },
  status(id: number, code: number, message = ''): Buffer {
    return new Packet(FXP.STATUS, id).u32(code).string(message).string('en').finish();
  },
  handle(id: number, handle: Buffer): Buffer {
    return new Packet(FXP.HANDLE, id).string(handle).finish();
  },
  attrs(id: number, a: Attrs): Buffer {
    return new Packet(FXP.ATTRS, id).attrs(a).finish();
  },
  name(id: number, entries: readonly NameEntry[]): Buffer {
    const p = new Packet(FXP.NAME, id).u32(entries.length);
    for (const e of entries) p.string(e.filename).string(e.longname).attrs(e.attrs);
    return p.finish();
  },
  /** EXTENDED_REPLY made of strings, then raw bytes (check-file's hashes). */
  extended(id: number, strings: readonly (string | Buffer)[], raw?: Buffer): Buffer {
    const p = new Packet(FXP.EXTENDED_REPLY, id);
    for (const s of strings) p.string(s);
    if (raw) p.raw(raw);
    return p.finish();
  },
  /** EXTENDED_REPLY made of 64-bit numbers (limits@, statvfs@). */
  u64s(id: number, values: readonly number[]): Buffer {
    const p = new Packet(FXP.EXTENDED_REPLY, id);
    for (const v of values) p.u64(v);
    return p.finish();
  },
  /** Fills in the header of a DATA reply whose `n` data bytes were read straight into buf[DATA_HEADER...]. */
  dataHeader(buf: Buffer, id: number, n: number): Buffer {
    writeDataHead(buf, id, n);
    return buf.length === DATA_HEADER + n ? buf : buf.subarray(0, DATA_HEADER + n);
  },
  /** The header alone of a DATA reply of `n` bytes (the bytes follow elsewhere: data-packets.ts). */
  dataHead(id: number, n: number): Buffer {
    const buf = Buffer.allocUnsafe(DATA_HEADER);
    writeDataHead(buf, id, n);
    return buf;
  },
};

/**
 * Cuts a byte stream into SFTP packets. A packet longer than MAX_PACKET is a protocol error (OpenSSH's server
 * disconnects too): it would otherwise let a client make the ship buffer without bound.
 *
 * A packet that spans chunks is copied into one buffer; large ones (an upload's WRITEs) into shared buffers kept for
 * reuse (`keep` of them) and given back with release(): a fresh 256 KiB buffer per WRITE made V8 run a full GC every
 * few dozen MiB of an upload.
 */
export class PacketReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private readonly spare: Buffer[] = [];
  /** Pooled buffers handed out as packets and not released yet. */
  private readonly lent = new Set<ArrayBufferLike>();

  constructor(private readonly keep = 0) {}

  push(data: Buffer): void {
    this.chunks.push(data);
    this.buffered += data.length;
  }

  /** The next whole packet (type byte first, length removed), or null until more bytes arrive. */
  next(): Buffer | null {
    if (this.buffered < 4) return null;
    const len = this.peekLength();
    if (len === 0 || len > MAX_PACKET) throw new Error(`SFTP packet of ${len} bytes (limit ${MAX_PACKET})`);
    if (this.buffered < 4 + len) return null;
    this.skip(4);
    return this.take(len);
  }

  /** Gives a packet's buffer back for reuse once nothing refers to it any more (its request was answered). */
  release(packet: Buffer): void {
    if (!this.lent.delete(packet.buffer)) return;
    if (this.spare.length < this.keep) this.spare.push(Buffer.from(packet.buffer, 0, MAX_PACKET));
  }

  private peekLength(): number {
    const head = this.chunks[0] as Buffer;
    if (head.length >= 4) return head.readUInt32BE(0);
    const b = Buffer.allocUnsafe(4);
    let at = 0;
    for (const c of this.chunks) {
      at += c.copy(b, at, 0, Math.min(c.length, 4 - at));
      if (at === 4) break;
    }
    return b.readUInt32BE(0);
  }

  private skip(n: number): void {
    while (n > 0) {
      const head = this.chunks[0] as Buffer;
      if (head.length <= n) {
        this.chunks.shift();
        n -= head.length;
        this.buffered -= head.length;
      } else {
        this.chunks[0] = head.subarray(n);
        this.buffered -= n;
        n = 0;
      }
    }
  }

  private take(n: number): Buffer {
    const head = this.chunks[0] as Buffer;
    if (head.length >= n) {
      const out = head.subarray(0, n);
      this.skip(n);
      return out;
    }
    let out: Buffer;
    if (n > 4096 && this.keep > 0) {
      // Shared memory: the upload hash worker reads a WRITE's data in place (hash-worker.ts).
      const b = this.spare.pop() ?? Buffer.from(new SharedArrayBuffer(MAX_PACKET));
      this.lent.add(b.buffer);
      out = b.subarray(0, n);
    } else {
      out = Buffer.allocUnsafe(n);
    }
    let at = 0;
    while (at < n) {
      const c = this.chunks[0] as Buffer;
      const k = Math.min(c.length, n - at);
      c.copy(out, at, 0, k);
      at += k;
      this.skip(k);
    }
    return out;
  }
}
