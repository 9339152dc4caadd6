import { constants } from 'node:fs';
import { open, statfs, type FileHandle } from 'node:fs/promises';
import { attrsOf, longname } from './attrs.js';
import type { Slab } from './data-packets.js';
import { answerHashExtension, isHashExtension } from './hash-extensions.js';
import type { Uploads } from './uploads.js';
import { DeployedView, normalizeViewPath } from './view.js';
import { DATA_HEADER, Fields, FXP, MAX_PACKET, MAX_READ, OPEN_FLAGS, reply, STATUS, type NameEntry } from './wire.js';

/** Names per READDIR reply, so a directory of 10,000 entries goes out in many small replies (well under 256 KiB). */
const READDIR_BATCH = 100;
/** statvfs flags: ST_RDONLY | ST_NOSUID. */
const ST_RDONLY_NOSUID = 0x1 | 0x2;

type FileHandleEntry = {
  readonly kind: 'file';
  readonly path: string;
  readonly real: string;
  readonly fh: FileHandle;
  /** The time the view showed when it was opened: an open file keeps its release, even after a switch. */
  readonly mtime: number | null;
  bytes: number;
  pending: Promise<unknown>;
};
type DirHandleEntry = { readonly kind: 'dir'; readonly path: string; readonly real: string | null; readonly entries: NameEntry[]; pos: number };
export type Handle = FileHandleEntry | DirHandleEntry;

/** Open handles of one session, named by 4-byte ids, at most `max` at a time. */
export class Handles {
  private readonly map = new Map<number, Handle>();
  private nextId = 1;
  constructor(readonly max: number) {}

  add(h: Handle): Buffer | null {
    if (this.map.size >= this.max) return null;
    const id = this.nextId++;
    this.map.set(id, h);
    const b = Buffer.allocUnsafe(4);
    b.writeUInt32BE(id);
    return b;
  }
  get(b: Buffer): Handle | undefined {
    return b.length === 4 ? this.map.get(b.readUInt32BE(0)) : undefined;
  }
  take(b: Buffer): Handle | undefined {
    const h = this.get(b);
    if (h) this.map.delete(b.readUInt32BE(0));
    return h;
  }
  takeAll(): Handle[] {
    const all = [...this.map.values()];
    this.map.clear();
    return all;
  }
}

/** Full-size read buffers, reused: a 1 GiB download allocates a handful, not four thousand. */
export class ReadBuffers {
  private readonly free: Buffer[] = [];
  constructor(private readonly keep: number) {}
  get(n: number): Buffer {
    return n === MAX_READ ? this.free.pop() ?? Buffer.allocUnsafe(DATA_HEADER + MAX_READ) : Buffer.allocUnsafe(DATA_HEADER + n);
  }
  put(b: Buffer): void {
    if (b.length === DATA_HEADER + MAX_READ && this.free.length < this.keep) this.free.push(b);
  }
}

export interface RequestContext {
  readonly view: DeployedView;
  readonly handles: Handles;
  readonly buffers: ReadBuffers;
  readonly dataDir: string;
  readonly onFileRead?: ((path: string, bytes: number) => void) | undefined;
  /** Admirals' sessions: new files in / and /incoming/ (uploads.ts), the only writes there are. */
  readonly uploads?: Uploads | undefined;
  /** Where READ replies are laid out as finished SSH packets (channel-sender.ts), when the connection allows it. */
  readonly slabs?: SlabSource | undefined;
}

export interface SlabSource {
  slab(headLen: number, bodyLen: number): Slab | null;
  recycle(slab: Slab): void;
}

/** A reply (bytes, or a READ's data laid out as SSH packets), and what to do once it has been handed to the channel. */
export type Answer = { readonly out: Buffer; readonly release?: () => void } | { readonly slab: Slab };

/** Bytes a request may hold at most (its reply, or a WRITE's data): what the session reserves from its budget before starting it. */
export function replyCost(packet: Buffer): number {
  if (packet[0] === FXP.READ) {
    try {
      const f = new Fields(packet.subarray(5));
      f.bytes();
      f.u64();
      return DATA_HEADER + Math.min(f.u32(), MAX_READ);
    } catch {
      return 1024;
    }
  }
  // A WRITE holds its data until the disk has it: counted like a reply, so uploads in flight stay within the budget.
  if (packet[0] === FXP.WRITE) return Math.max(4096, packet.length);
  // A hash request reads a whole file: counted like a full read, so a session runs a handful at once, not thousands.
  if (packet[0] === FXP.EXTENDED) {
    try {
      if (isHashExtension(new Fields(packet.subarray(5)).string())) return DATA_HEADER + MAX_READ;
    } catch {
      return 1024;
    }
  }
  return packet[0] === FXP.READDIR || packet[0] === FXP.OPENDIR ? 64 * 1024 : 4096;
}

const CHANGES = new Set<number>([FXP.WRITE, FXP.SETSTAT, FXP.FSETSTAT, FXP.REMOVE, FXP.MKDIR, FXP.RMDIR, FXP.RENAME, FXP.SYMLINK]);
const CHANGING_EXTENSIONS = new Set(['posix-rename@openssh.com', 'hardlink@openssh.com', 'lsetstat@openssh.com', 'copy-data', 'fsync@openssh.com']);

export async function closeHandle(h: Handle, ctx: RequestContext): Promise<void> {
  if (h.kind !== 'file') return;
  // Reads still running on it finish first: closing under them would fail them (or read another file's fd).
  await h.pending.catch(() => {});
  await h.fh.close().catch(() => {});
  ctx.onFileRead?.(h.path, h.bytes);
}

/** Answers one request (type byte first). Every change is refused: the view is read-only, fail closed. */
export async function answer(packet: Buffer, ctx: RequestContext): Promise<Answer> {
  const type = packet[0] as number;
  const f = new Fields(packet.subarray(1));
  const id = f.u32();
  const status = (code: number, msg = ''): Answer => ({ out: reply.status(id, code, msg) });
  const { view, handles } = ctx;
  try {
    const upload = ctx.uploads ? await ctx.uploads.answer(packet) : null;
    if (upload !== null) return { out: upload };
    if (CHANGES.has(type)) return status(STATUS.PERMISSION_DENIED, 'read-only view');
    switch (type) {
      case FXP.READ: {
        const h = handles.get(f.bytes());
        if (h?.kind !== 'file') return status(STATUS.FAILURE, 'bad handle');
        const offset = f.u64();
        const n = Math.min(f.u32(), MAX_READ);
        const slab = n > 0 ? ctx.slabs?.slab(DATA_HEADER, n) : null;
        if (slab) return await readIntoSlab(id, h, offset, n, slab, ctx);
        const buf = ctx.buffers.get(n);
        const read = h.fh.read(buf, DATA_HEADER, n, offset);
        h.pending = Promise.allSettled([h.pending, read]);
        const { bytesRead } = await read.catch((e: unknown) => {
          ctx.buffers.put(buf);
          throw e;
        });
        if (bytesRead === 0) {
          ctx.buffers.put(buf);
          return status(STATUS.EOF);
        }
        h.bytes += bytesRead;
        return { out: reply.dataHeader(buf, id, bytesRead), release: () => ctx.buffers.put(buf) };
      }
      case FXP.OPEN: {
        const path = f.string();
        const flags = f.u32();
        const { READ, WRITE, APPEND, CREAT, TRUNC, EXCL } = OPEN_FLAGS;
        if (flags & (WRITE | APPEND | CREAT | TRUNC | EXCL) || !(flags & READ)) return status(STATUS.PERMISSION_DENIED, 'read-only view');
        const r = await view.resolve(path, true);
        if (r === null || r.real === null || !r.stats?.isFile()) return status(STATUS.NO_SUCH_FILE, 'No such file');
        // O_NOFOLLOW: the path was resolved inside its jail a moment ago; a link swapped in since is not followed.
        const fh = await open(r.real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
        if (fh === null) return status(STATUS.NO_SUCH_FILE, 'No such file');
        const handle = handles.add({ kind: 'file', path: normalizeViewPath(path), real: r.real, fh, mtime: r.mtime, bytes: 0, pending: Promise.resolve() });
        if (handle === null) {
          await fh.close();
          return status(STATUS.FAILURE, `too many open handles (limit ${handles.max})`);
        }
        return { out: reply.handle(id, handle) };
      }
      case FXP.CLOSE: {
        const h = handles.take(f.bytes());
        if (h === undefined) return status(STATUS.FAILURE, 'bad handle');
        await closeHandle(h, ctx);
        return status(STATUS.OK);
      }
      case FXP.STAT:
      case FXP.LSTAT: {
        const r = await view.resolve(f.string(), type === FXP.STAT);
        if (r === null) return status(STATUS.NO_SUCH_FILE, 'No such file');
        return { out: reply.attrs(id, attrsOf(r.stats, r.mtime)) };
      }
      case FXP.FSTAT: {
        const h = handles.get(f.bytes());
        if (h === undefined) return status(STATUS.FAILURE, 'bad handle');
        if (h.kind === 'file') return { out: reply.attrs(id, attrsOf(await h.fh.stat(), h.mtime)) };
        const r = await view.resolve(h.path, true);
        return { out: reply.attrs(id, attrsOf(r?.stats ?? null, r?.mtime ?? null)) };
      }
      case FXP.OPENDIR: {
        const path = normalizeViewPath(f.string());
        const list = await view.list(path);
        if (list === null) return status(STATUS.NO_SUCH_FILE, 'No such file');
        const entries = list.map(({ name, stats, mtime }): NameEntry => {
          const attrs = attrsOf(stats, mtime);
          return { filename: name, longname: longname(name, attrs, stats?.nlink ?? 2), attrs };
        });
        const r = await view.resolve(path, true);
        const handle = handles.add({ kind: 'dir', path, real: r?.real ?? null, entries, pos: 0 });
        if (handle === null) return status(STATUS.FAILURE, `too many open handles (limit ${handles.max})`);
        return { out: reply.handle(id, handle) };
      }
      case FXP.READDIR: {
        const h = handles.get(f.bytes());
        if (h?.kind !== 'dir') return status(STATUS.FAILURE, 'bad handle');
        if (h.pos >= h.entries.length) return status(STATUS.EOF);
        const batch = h.entries.slice(h.pos, h.pos + READDIR_BATCH);
        h.pos += batch.length;
        return { out: reply.name(id, batch) };
      }
      case FXP.REALPATH: {
        const p = normalizeViewPath(f.string());
        return { out: reply.name(id, [{ filename: p, longname: p, attrs: null }]) };
      }
      case FXP.READLINK: {
        const target = await view.readlink(f.string());
        if (target === null) return status(STATUS.NO_SUCH_FILE, 'No such file');
        return { out: reply.name(id, [{ filename: target, longname: target, attrs: null }]) };
      }
      case FXP.EXTENDED:
        return await extended(id, f, ctx);
      default:
        return status(STATUS.OP_UNSUPPORTED, `unsupported request ${type}`);
    }
  } catch {
    // A failing or malformed request must never take the ship down: answer it and carry on.
    return status(STATUS.FAILURE, 'failure');
  }
}

/** A READ straight into the reply's SSH packets (one preadv); a short read (the end of the file) is sent as bytes. */
async function readIntoSlab(id: number, h: FileHandleEntry, offset: number, n: number, slab: Slab, ctx: RequestContext): Promise<Answer> {
  const read = h.fh.readv(slab.iovecs, offset);
  h.pending = Promise.allSettled([h.pending, read]);
  const { bytesRead } = await read.catch((e: unknown) => {
    ctx.slabs?.recycle(slab);
    throw e;
  });
  h.bytes += bytesRead;
  if (bytesRead === n) {
    slab.setHead(reply.dataHead(id, n));
    return { slab };
  }
  if (bytesRead === 0) {
    ctx.slabs?.recycle(slab);
    return { out: reply.status(id, STATUS.EOF) };
  }
  const out = Buffer.allocUnsafe(DATA_HEADER + bytesRead);
  let at = DATA_HEADER;
  for (const v of slab.iovecs) at += v.copy(out, at, 0, Math.min(v.length, DATA_HEADER + bytesRead - at));
  ctx.slabs?.recycle(slab);
  return { out: reply.dataHeader(out, id, bytesRead) };
}

async function extended(id: number, f: Fields, ctx: RequestContext): Promise<Answer> {
  const name = f.string();
  if (name === 'limits@openssh.com') {
    // The write length is announced as large as the read length: OpenSSH's client uses the smaller of the two.
    return { out: reply.u64s(id, [MAX_PACKET, MAX_READ, MAX_READ, ctx.handles.max]) };
  }
  if (name === 'statvfs@openssh.com' || name === 'fstatvfs@openssh.com') {
    let real: string | null;
    if (name === 'statvfs@openssh.com') {
      const r = await ctx.view.resolve(f.string(), true);
      if (r === null) return { out: reply.status(id, STATUS.NO_SUCH_FILE, 'No such file') };
      real = r.real;
    } else {
      const h = ctx.handles.get(f.bytes());
      if (h === undefined) return { out: reply.status(id, STATUS.FAILURE, 'bad handle') };
      real = h.real;
    }
    const s = await statfs(real ?? ctx.dataDir);
    return { out: reply.u64s(id, [s.bsize, s.bsize, s.blocks, s.bfree, s.bavail, s.files, s.ffree, s.ffree, 0, ST_RDONLY_NOSUID, 255]) };
  }
  if (isHashExtension(name)) return { out: await answerHashExtension(name, id, f, ctx) };
  if (CHANGING_EXTENSIONS.has(name)) return { out: reply.status(id, STATUS.PERMISSION_DENIED, 'read-only view') };
  return { out: reply.status(id, STATUS.OP_UNSUPPORTED, `unsupported extension ${name}`) };
}
