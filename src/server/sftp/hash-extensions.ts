import { timingSafeEqual } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { hashFile, HASHES, type HashName } from './file-hash.js';
import type { RequestContext } from './requests.js';
import { Fields, MAX_PACKET, reply, STATUS } from './wire.js';

/**
 * The hash extensions of draft-ietf-secsh-filexfer (check-file, md5-hash), which some clients use to verify a copy
 * without reading it back (paramiko's SFTPFile.check, WinSCP's checksum): `check-file-name`/`-handle` (and paramiko's
 * `check-file` on a handle) with a list of algorithms, a range and an optional block size; `md5-hash`/`-handle` with
 * a range and a "quick check" of the first 2048 bytes. The VERSION reply names them (wire.ts EXTENSIONS).
 */
const HANDLE_NAMES = new Set(['check-file', 'check-file-handle', 'md5-hash-handle']);
const NAMES = new Set([...HANDLE_NAMES, 'check-file-name', 'md5-hash']);
/** The draft's smallest block for check-file (0 means one hash of the whole range). */
const MIN_BLOCK = 256;
const QUICK_CHECK = 2048;

export const isHashExtension = (name: string): boolean => NAMES.has(name);

/** Answers one hash extension request (the name already read from `f`). */
export async function answerHashExtension(name: string, id: number, f: Fields, ctx: RequestContext): Promise<Buffer> {
  const status = (code: number, msg: string): Buffer => reply.status(id, code, msg);
  let file: string | FileHandle;
  let path: string;
  if (HANDLE_NAMES.has(name)) {
    const h = ctx.handles.get(f.bytes());
    if (h?.kind !== 'file') return status(STATUS.FAILURE, 'bad handle');
    file = h.fh;
    path = h.path;
    // A CLOSE while the hash reads waits for it (requests.ts closeHandle), as it does for READs.
    const work = hashRequest(name, id, f, ctx, file, path);
    h.pending = Promise.allSettled([h.pending, work]);
    return work;
  } else {
    path = f.string();
    const r = await ctx.view.resolve(path, true);
    if (r === null || r.real === null) return status(STATUS.NO_SUCH_FILE, 'No such file');
    if (!r.stats?.isFile()) return status(STATUS.FAILURE, 'not a regular file');
    file = r.real;
  }
  return hashRequest(name, id, f, ctx, file, path);
}

async function hashRequest(name: string, id: number, f: Fields, ctx: RequestContext, file: string | FileHandle, path: string): Promise<Buffer> {
  const status = (code: number, msg: string): Buffer => reply.status(id, code, msg);
  if (name.startsWith('md5-hash')) {
    const start = f.u64();
    const length = f.u64();
    const quick = f.bytes();
    if (quick.length > 0) {
      const { digests } = await hashFile(file, 'md5', { start, length: length > 0 ? Math.min(length, QUICK_CHECK) : QUICK_CHECK });
      const got = digests[0] as Buffer;
      // Not the client's file: the draft answers with an empty hash.
      if (got.length !== quick.length || !timingSafeEqual(got, quick)) return reply.extended(id, [name, Buffer.alloc(0)]);
    }
    const { digests, bytes } = await hashFile(file, 'md5', { start, length });
    ctx.onFileRead?.(path, bytes);
    return reply.extended(id, [name, digests[0] as Buffer]);
  }
  const wanted = f.string().split(',');
  const hash = wanted.find((h): h is HashName => (HASHES as readonly string[]).includes(h));
  const start = f.u64();
  const length = f.u64();
  const blockSize = f.u32();
  if (hash === undefined) return status(STATUS.OP_UNSUPPORTED, `no supported hash among ${wanted.join(',')} (supported: ${HASHES.join(',')})`);
  if (blockSize !== 0 && blockSize < MIN_BLOCK) return status(STATUS.FAILURE, `block size ${blockSize} is below ${MIN_BLOCK}`);
  // The reply must fit in one packet: refuse a block size that would make too many hashes.
  if (blockSize !== 0) {
    const size = typeof file === 'string' ? null : (await file.stat()).size;
    const span = length > 0 ? length : (size ?? (await ctx.view.resolve(path, true))?.stats?.size ?? 0) - start;
    if (Math.ceil(Math.max(0, span) / blockSize) * 64 > MAX_PACKET - 1024) return status(STATUS.FAILURE, `block size ${blockSize} makes too many hashes for one reply`);
  }
  const { digests, bytes } = await hashFile(file, hash, { start, length, blockSize });
  ctx.onFileRead?.(path, bytes);
  return reply.extended(id, ['check-file', hash], Buffer.concat(digests));
}
