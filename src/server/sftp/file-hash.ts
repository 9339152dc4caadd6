import type { FileHandle } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';

/** Hashes a view file may be asked for: coreutils' md5sum/sha1sum/sha256sum, and the SFTP check-file extension's. */
export const HASHES = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
export type HashName = (typeof HASHES)[number];

export interface HashRange {
  readonly start?: number;
  /** Bytes to hash from start; 0 or absent: to the end of the file. */
  readonly length?: number;
  /** Hash each block of this many bytes on its own (check-file); 0 or absent: one hash of the whole range. */
  readonly blockSize?: number;
}

/**
 * Reads and hashes on its own thread: MD5 of a 1 GiB file is ~1.8 s of CPU here, which on the main thread every
 * other session would wait behind. A file opened by path is opened without following a link swapped in since it was
 * resolved; a file the session has open is read through its descriptor. A file that grows while it is hashed is
 * hashed as far as it was at the start; one that shrinks, as far as it goes.
 */
const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buf = Buffer.allocUnsafe(256 * 1024);
function hash(m, fd) {
  const size = fs.fstatSync(fd).size;
  const start = m.start || 0;
  const end = m.length ? Math.min(size, start + m.length) : size;
  const block = m.blockSize || 0;
  const digests = [];
  let h = createHash(m.name), inBlock = 0, at = start;
  for (;;) {
    const want = Math.min(buf.length, end - at, block > 0 ? block - inBlock : Infinity);
    const n = want > 0 ? fs.readSync(fd, buf, 0, want, at) : 0;
    if (n > 0) { h.update(buf.subarray(0, n)); at += n; inBlock += n; }
    if ((block > 0 && inBlock === block) || (n === 0 && (inBlock > 0 || digests.length === 0))) {
      digests.push(h.digest()); h = createHash(m.name); inBlock = 0;
    }
    if (n === 0) return { digests, bytes: at - start };
  }
}
parentPort.on('message', (m) => {
  let fd = m.fd;
  const own = fd === undefined;
  try {
    if (own) fd = fs.openSync(m.path, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    parentPort.postMessage({ id: m.id, ...hash(m, fd) });
  } catch (e) {
    parentPort.postMessage({ id: m.id, error: { code: e.code, message: e.message } });
  } finally {
    if (own && fd !== undefined) try { fs.closeSync(fd); } catch {}
  }
});
`;

interface Reply {
  readonly id: number;
  readonly digests?: Uint8Array[];
  readonly bytes?: number;
  readonly error?: { readonly code?: string; readonly message: string };
}

let worker: Worker | null = null;
let nextId = 1;
const jobs = new Map<number, { resolve: (r: { digests: Buffer[]; bytes: number }) => void; reject: (e: Error) => void }>();

function theWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER, { eval: true });
  w.unref();
  w.on('message', (m: Reply) => {
    const job = jobs.get(m.id);
    jobs.delete(m.id);
    if (!job) return;
    if (m.error) job.reject(Object.assign(new Error(m.error.message), { code: m.error.code }));
    else job.resolve({ digests: (m.digests ?? []).map((d) => Buffer.from(d.buffer, d.byteOffset, d.byteLength)), bytes: m.bytes ?? 0 });
  });
  const fail = (e: Error): void => {
    if (worker === w) worker = null;
    for (const j of jobs.values()) j.reject(e);
    jobs.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the file hash worker exited (${code})`)));
  worker = w;
  return w;
}

/**
 * Hashes a file of the view: `file` is what view.resolve() returned, or a file the session has open (it must stay open
 * until this resolves). Returns one digest, or one per block; `bytes` is how much was read, for the audit.
 */
export function hashFile(file: string | FileHandle, name: HashName, range: HashRange = {}): Promise<{ digests: Buffer[]; bytes: number }> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    jobs.set(id, { resolve, reject });
    theWorker().postMessage({ id, name, ...range, ...(typeof file === 'string' ? { path: file } : { fd: file.fd }) });
  });
}
