import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';

/** Hashes a view file may be asked for: coreutils' md5sum/sha1sum/sha256sum, and the SFTP check-file extension's. */
export const HASHES = ['md5', 'sha1', 'sha224', 'sha256', 'sha384', 'sha512'] as const;
export type HashName = (typeof HASHES)[number];

const CHUNK = 256 * 1024;

export interface HashRange {
  readonly start?: number;
  /** Bytes to hash from start; 0 or absent: to the end of the file. */
  readonly length?: number;
  /** Hash each block of this many bytes on its own (check-file); 0 or absent: one hash of the whole range. */
  readonly blockSize?: number;
}

/**
 * Hashes a file of the view: `file` is what view.resolve() returned, opened without following a link that may have
 * been swapped in since, or a file the session has open. Read in 256 KiB steps off the main thread (a 1 GiB file never
 * holds more than one step). Returns one digest, or one per block; `bytes` is how much was read, for the audit.
 */
export async function hashFile(file: string | FileHandle, name: HashName, range: HashRange = {}): Promise<{ digests: Buffer[]; bytes: number }> {
  const fh = typeof file === 'string' ? await open(file, constants.O_RDONLY | constants.O_NOFOLLOW) : file;
  try {
    const start = range.start ?? 0;
    const size = (await fh.stat()).size;
    const end = range.length ? Math.min(size, start + range.length) : size;
    const block = range.blockSize ?? 0;
    const buf = Buffer.allocUnsafe(block > 0 ? Math.min(block, CHUNK) : CHUNK);
    const digests: Buffer[] = [];
    let hash = createHash(name);
    let inBlock = 0;
    let at = start;
    for (;;) {
      const want = Math.min(buf.length, end - at, block > 0 ? block - inBlock : Infinity);
      // A file that grows while it is hashed is hashed as far as it was at the start; one that shrinks, as far as it goes.
      const { bytesRead } = want > 0 ? await fh.read(buf, 0, want, at) : { bytesRead: 0 };
      if (bytesRead > 0) {
        hash.update(buf.subarray(0, bytesRead));
        at += bytesRead;
        inBlock += bytesRead;
      }
      const done = bytesRead === 0;
      if ((block > 0 && inBlock === block) || (done && (inBlock > 0 || digests.length === 0))) {
        digests.push(hash.digest());
        hash = createHash(name);
        inBlock = 0;
      }
      if (done) break;
    }
    return { digests, bytes: at - start };
  } finally {
    if (typeof file === 'string') await fh.close();
  }
}
