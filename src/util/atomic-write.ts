import { randomBytes } from 'node:crypto';
import { closeSync, constants, fchmodSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** A sibling name nobody else uses, for write-then-rename (same directory, so the same file system). */
export function tempSibling(path: string): string {
  return join(dirname(path), `.tmp-${randomBytes(6).toString('hex')}-${basename(path)}`);
}

/**
 * Readers see the old file or the new one, never half of one, even after a crash: the content goes to a new sibling
 * (O_EXCL, so a link planted at that name is never followed), is flushed to disk, then renamed over `path` (which
 * replaces a link at `path` rather than writing through it). `mode` is set exactly (fchmod, so the umask does not
 * narrow it); without it the file gets 0666 less the umask.
 */
export async function writeFileAtomic(path: string, content: string | Buffer, mode?: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  try {
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode ?? 0o666);
    try {
      await fh.writeFile(content);
      if (mode !== undefined) await fh.chmod(mode);
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

/** writeFileAtomic for the few callers that cannot wait (start-up records, locks, the uid table under its lock). */
export function writeFileAtomicSync(path: string, content: string | Buffer, mode?: number): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = tempSibling(path);
  try {
    const fd = openSync(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode ?? 0o666);
    try {
      writeFileSync(fd, content);
      if (mode !== undefined) fchmodSync(fd, mode);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

/**
 * writeFileAtomic, skipped when `path` is already a regular file with exactly this content (its mode is still set):
 * files regenerated on every start or push keep their mtime, and a reader never sees them replaced for nothing.
 * A link or FIFO at `path` is never read through or waited on: it is replaced.
 */
export async function writeIfChanged(path: string, content: string | Buffer, mode: number): Promise<void> {
  const want = typeof content === 'string' ? Buffer.from(content) : content;
  const fh = await open(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => null);
  if (fh !== null) {
    try {
      if ((await fh.stat()).isFile() && want.equals(await fh.readFile())) {
        await fh.chmod(mode);
        return;
      }
    } finally {
      await fh.close();
    }
  }
  await writeFileAtomic(path, want, mode);
}
