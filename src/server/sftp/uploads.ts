import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { registryPaths } from '../../data-dir/registry-paths.js';
import { attrsOf } from './attrs.js';
import { Sha256Stream } from './hash-worker.js';
import { normalizeViewPath } from './view.js';
import { Fields, FXP, OPEN_FLAGS, reply, STATUS } from './wire.js';

/**
 * The one writable part of the SFTP view (deploy-tools' upload, #22): a new file opened for writing in `/incoming/`
 * or directly in `/` is written to a part file and, when closed, stored under registry/incoming/<sha256> (its name
 * does not matter: `starphleet registry addver -hash` names it). A part file never becomes an upload unless closed:
 * a session that ends first, a failed write or the quota discards it. Nothing else of the view is writable:
 * requests.ts refuses every other change.
 */

/** View tops that are not upload names (a `put services` must not look like it wrote into the view). */
const RESERVED = new Set(['services', 'configs', 'layers', 'logs', 'data', 'registry', 'incoming']);
/** Handles of uploads are 8 bytes, the view's are 4: the two can never be taken for each other. */
const TAG = 0x55504c44; // "UPLD"

interface Upload {
  readonly viewPath: string;
  readonly part: string;
  readonly fh: FileHandle;
  size: number;
  failed: string | null;
  pending: Promise<unknown>;
  /** SHA-256 of the bytes written so far, while they came in order (null once one did not: hashed again at close). */
  hash: Sha256Stream | null;
  hashed: number;
  /** WRITEs in flight: their byte ranges, and their answers. */
  readonly writing: Set<{ readonly offset: number; readonly end: number; readonly done: Promise<Buffer> }>;
}

/** Bytes reserved by parts being written, over every session of this ship: the quota counts them with stored uploads. */
let inFlight = 0;

/** Stored bytes per incoming dir and when they were counted: a readdir and a stat per WRITE were 12 % of an upload. */
const storedCount = new Map<string, { readonly at: number; readonly bytes: number }>();
const STORED_FRESH_MS = 1000;

async function storedBytes(dir: string): Promise<number> {
  const known = storedCount.get(dir);
  if (known && Date.now() - known.at < STORED_FRESH_MS) return known.bytes;
  let total = 0;
  // Part files are counted by what they reserved (inFlight), not by what has reached the disk yet.
  for (const n of await readdir(dir).catch(() => [] as string[])) if (!n.startsWith('.part-')) total += (await stat(join(dir, n)).catch(() => null))?.size ?? 0;
  storedCount.set(dir, { at: Date.now(), bytes: total });
  return total;
}

async function sha256Of(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** The upload name of a view path, or null when the path is not a new file in `/` or `/incoming/`. */
export function uploadName(path: string): string | null {
  const parts = normalizeViewPath(path).split('/').filter(Boolean);
  if (parts.length === 1 && !RESERVED.has(parts[0] as string)) return parts[0] as string;
  if (parts.length === 2 && parts[0] === 'incoming') return parts[1] as string;
  return null;
}

export class Uploads {
  private readonly open = new Map<number, Upload>();
  private next = 1;

  constructor(
    private readonly dataDir: string,
    private readonly maxBytes: number,
    private readonly onStored?: (viewPath: string, sha256: string, size: number) => void,
  ) {}

  private handleOf(b: Buffer): Upload | undefined {
    return b.length === 8 && b.readUInt32BE(0) === TAG ? this.open.get(b.readUInt32BE(4)) : undefined;
  }

  /** Answers the request if it is an upload's (an OPEN to write a new file, or a request on an upload handle). */
  async answer(packet: Buffer): Promise<Buffer | null> {
    const type = packet[0] as number;
    if (type !== FXP.OPEN && type !== FXP.WRITE && type !== FXP.CLOSE && type !== FXP.FSTAT && type !== FXP.FSETSTAT) return null;
    const f = new Fields(packet.subarray(1));
    const id = f.u32();
    if (type === FXP.OPEN) {
      const path = f.string();
      const flags = f.u32();
      if (!(flags & OPEN_FLAGS.WRITE) || uploadName(path) === null) return null;
      if (!(flags & OPEN_FLAGS.CREAT)) return reply.status(id, STATUS.NO_SUCH_FILE, 'uploads are new files only');
      return this.start(id, path);
    }
    const raw = f.bytes();
    const up = this.handleOf(raw);
    if (up === undefined) return null;
    switch (type) {
      case FXP.WRITE: {
        const offset = f.u64();
        // Not copied: the packet stays untouched until this request is answered (session.ts releases it then).
        return this.write(id, up, offset, f.bytes());
      }
      case FXP.CLOSE:
        this.open.delete(raw.readUInt32BE(4));
        return this.finish(id, up);
      case FXP.FSTAT:
        return reply.attrs(id, attrsOf(await up.fh.stat(), null));
      default:
        // Modes and times of an upload mean nothing: it is stored by content.
        return reply.status(id, STATUS.OK);
    }
  }

  private async start(id: number, viewPath: string): Promise<Buffer> {
    const dir = registryPaths.incoming(this.dataDir);
    await mkdir(dir, { recursive: true });
    const part = join(dir, `.part-${process.pid}-${randomBytes(8).toString('hex')}`);
    const fh = await open(part, 'wx', 0o600);
    const n = this.next++;
    this.open.set(n, { viewPath: normalizeViewPath(viewPath), part, fh, size: 0, failed: null, pending: Promise.resolve(), hash: new Sha256Stream(), hashed: 0, writing: new Set() });
    const h = Buffer.alloc(8);
    h.writeUInt32BE(TAG, 0);
    h.writeUInt32BE(n, 4);
    return reply.handle(id, h);
  }

  private write(id: number, up: Upload, offset: number, data: Buffer): Promise<Buffer> {
    if (up.failed !== null) return Promise.resolve(reply.status(id, STATUS.FAILURE, up.failed));
    // Requests start in order, so a client writing front to back (every client does) is hashed as it goes.
    let hashing: Promise<void> | null = null;
    if (up.hash !== null && offset === up.hashed) {
      hashing = up.hash.update(data);
      up.hashed += data.length;
    } else {
      up.hash?.drop();
      up.hash = null;
    }
    const end = offset + data.length;
    // WRITEs run together; one over bytes that another in flight writes waits for it, so they land in the order sent.
    const before = [...up.writing].filter((w) => w.offset < end && offset < w.end).map((w) => w.done);
    const me = { offset, end, done: this.store(id, up, offset, data, hashing, before) };
    up.writing.add(me);
    // Registered at once: a CLOSE waits for every WRITE sent before it, even one still waiting for the quota count.
    up.pending = Promise.allSettled([up.pending, me.done]);
    void me.done.finally(() => up.writing.delete(me));
    return me.done;
  }

  private async store(id: number, up: Upload, offset: number, data: Buffer, hashing: Promise<void> | null, before: Promise<unknown>[]): Promise<Buffer> {
    await Promise.all(before);
    const end = offset + data.length;
    if (end > up.size) {
      const used = await storedBytes(registryPaths.incoming(this.dataDir));
      // Measured after the wait: WRITEs in flight together (every client sends several) grew the file meanwhile, and
      // counting each against the size before the wait reserved the same bytes twice, for good (inFlight is global).
      const grow = end - up.size;
      if (grow > 0 && used + inFlight + grow > this.maxBytes) {
        up.failed = `upload refused: over the incoming quota (STARPHLEET_INCOMING_MAX_BYTES = ${this.maxBytes} bytes); the file is discarded`;
        return reply.status(id, STATUS.FAILURE, up.failed);
      }
      if (grow > 0) {
        inFlight += grow;
        up.size = end;
      }
    }
    try {
      await up.fh.write(data, 0, data.length, offset);
      // The packet's buffer is reused once this request is answered: the hash worker must have read it by then.
      if (hashing) await hashing;
      return reply.status(id, STATUS.OK);
    } catch (e) {
      up.failed = `write failed: ${(e as Error).message}`;
      return reply.status(id, STATUS.FAILURE, up.failed);
    }
  }

  private async finish(id: number, up: Upload): Promise<Buffer> {
    await up.pending;
    await up.fh.close().catch(() => {});
    inFlight -= up.size;
    if (up.failed !== null) {
      up.hash?.drop();
      await rm(up.part, { force: true });
      return reply.status(id, STATUS.FAILURE, up.failed);
    }
    try {
      const hashed = up.hash !== null && up.hashed === up.size ? await up.hash.digest().catch(() => null) : null;
      up.hash?.drop();
      const sha = hashed ?? (await sha256Of(up.part));
      // The same bytes uploaded twice are one upload.
      await rename(up.part, registryPaths.upload(this.dataDir, sha));
      storedCount.delete(registryPaths.incoming(this.dataDir));
      this.onStored?.(up.viewPath, sha, up.size);
      return reply.status(id, STATUS.OK);
    } catch (e) {
      await rm(up.part, { force: true });
      return reply.status(id, STATUS.FAILURE, `storing the upload failed: ${(e as Error).message}`);
    }
  }

  /** The session ended: uploads not closed are partial, and discarded. */
  async discardAll(): Promise<void> {
    const all = [...this.open.values()];
    this.open.clear();
    for (const up of all) {
      up.hash?.drop();
      await up.pending;
      await up.fh.close().catch(() => {});
      inFlight -= up.size;
      await rm(up.part, { force: true });
    }
  }
}
