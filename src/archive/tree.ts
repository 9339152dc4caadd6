import { constants } from 'node:fs';
import { link, lstat, mkdir, open, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { ReadEntry } from 'tar';
import { joined } from './member-path.js';

export type Kind = 'dir' | 'file' | 'symlink' | 'other' | 'none';

/**
 * Where the rules (unpack.ts) put members: the real directory of an unpack, or a model of one for a check that writes
 * nothing. Every path is segments below the root whose parents the rules have already found to be real directories,
 * so nothing here follows a link: files are created O_EXCL|O_NOFOLLOW, entries are lstat'ed, never stat'ed.
 */
export interface Tree {
  kind(segs: readonly string[]): Promise<Kind>;
  mkdir(segs: readonly string[]): Promise<void>;
  /** Whatever is at segs goes (a directory with all it holds; a link itself, never what it points at). */
  remove(segs: readonly string[]): Promise<void>;
  writeFile(segs: readonly string[], body: ReadEntry, mode: number, mtime: Date | undefined): Promise<void>;
  symlink(segs: readonly string[], target: string): Promise<void>;
  link(segs: readonly string[], existing: readonly string[]): Promise<void>;
}

export class DiskTree implements Tree {
  constructor(readonly root: string) {}

  private at(segs: readonly string[]): string {
    return join(this.root, ...segs);
  }

  async kind(segs: readonly string[]): Promise<Kind> {
    try {
      const st = await lstat(this.at(segs));
      return st.isSymbolicLink() ? 'symlink' : st.isDirectory() ? 'dir' : st.isFile() ? 'file' : 'other';
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return 'none';
      throw e;
    }
  }

  async mkdir(segs: readonly string[]): Promise<void> {
    await mkdir(this.at(segs), { mode: 0o755 });
  }

  async remove(segs: readonly string[]): Promise<void> {
    // fs.rm walks with lstat: a link inside is removed, not followed.
    await rm(this.at(segs), { recursive: true, force: true });
  }

  async writeFile(segs: readonly string[], body: ReadEntry, mode: number, mtime: Date | undefined): Promise<void> {
    // O_EXCL: the rules removed whatever was there, so anything found now is a race lost, not a file to overwrite.
    const fh = await open(this.at(segs), constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, mode);
    try {
      await fh.chmod(mode);
      // Minipass's iterator, not pipe(): a small member's body has often ended before it is taken up here.
      for await (const chunk of body) {
        for (let at = 0; at < chunk.length; ) at += (await fh.write(chunk, at)).bytesWritten;
      }
      if (mtime !== undefined && Number.isFinite(mtime.getTime())) await fh.utimes(mtime, mtime);
    } finally {
      await fh.close();
    }
  }

  async symlink(segs: readonly string[], target: string): Promise<void> {
    await symlink(target, this.at(segs));
  }

  async link(segs: readonly string[], existing: readonly string[]): Promise<void> {
    // link(2) does not follow a link at `existing`; the rules checked it is a regular file anyway.
    await link(this.at(existing), this.at(segs));
  }
}

/** The tree an archive would make, in memory: what a check of an archive alone walks (nothing is written). */
export class ModelTree implements Tree {
  private readonly kinds = new Map<string, Kind>([['', 'dir']]);

  async kind(segs: readonly string[]): Promise<Kind> {
    return this.kinds.get(joined(segs)) ?? 'none';
  }

  async mkdir(segs: readonly string[]): Promise<void> {
    this.kinds.set(joined(segs), 'dir');
  }

  async remove(segs: readonly string[]): Promise<void> {
    const key = joined(segs);
    for (const k of [...this.kinds.keys()]) if (k === key || k.startsWith(`${key}/`)) this.kinds.delete(k);
  }

  async writeFile(segs: readonly string[], body: ReadEntry): Promise<void> {
    body.resume();
    if (!body.emittedEnd) await new Promise<void>((resolve) => body.once('end', () => resolve()));
    this.kinds.set(joined(segs), 'file');
  }

  async symlink(segs: readonly string[]): Promise<void> {
    this.kinds.set(joined(segs), 'symlink');
  }

  async link(segs: readonly string[]): Promise<void> {
    this.kinds.set(joined(segs), 'file');
  }
}
