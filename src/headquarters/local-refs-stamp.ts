import { createHash, type Hash } from 'node:crypto';
import type { BigIntStats } from 'node:fs';
import { lstat, readdir } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';

/**
 * A cheap fingerprint of the refs of a repository on this machine, so a ship need not fork `git ls-remote` every
 * pulse to learn that nothing moved (ls-remote-gate.ts decides when the fingerprint is trusted).
 *
 * Only lstat and readdir: nothing is opened or parsed, no symlink is followed (a symlinked entry counts by its own
 * lstat, a symlinked directory is not entered). git writes a ref as `<ref>.lock` and renames it over the ref, so an
 * update gives the ref a new inode and its directory a new mtime; a deleted ref is a missing entry. Whatever this
 * cannot vouch for (another layout, too many refs, an error) gives null: the caller asks git as it always did.
 */

export interface RefsStamp {
  /** Everything lstat said of the refs, hashed: equal keys, same refs (within what lstat can see). */
  readonly key: string;
  /** The newest mtime or ctime seen (ms since the epoch): a change within a timestamp's granularity of it may be unseen. */
  readonly newestMs: number;
}

/** More loose refs than this and the walk costs about what the fork it saves does: git is asked instead. */
export const MAX_ENTRIES = 5000;
const MAX_DEPTH = 32;

/**
 * The path git reads for `url` when the repository is on this machine: an absolute path, or a `file:///` URL (git
 * percent-decodes it). Null for what git reaches through a transport (ssh, https, git://, `host:path`), for a
 * `file://host/...` URL and for relative paths (callers make local paths absolute first: sync.ts normalizeRemote).
 */
export function localRepoPath(url: string): string | null {
  if (url.startsWith('file://')) {
    if (!url.startsWith('file:///') || url.includes('?')) return null;
    try {
      return decodeURIComponent(url.slice('file://'.length));
    } catch {
      return null;
    }
  }
  return isAbsolute(url) ? url : null;
}

async function lstatOrNull(path: string): Promise<BigIntStats | null> {
  try {
    return await lstat(path, { bigint: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return null;
    throw e;
  }
}

/**
 * The git dir git's upload-pack would enter for `path`, in its order: `<path>/.git` (a work tree), then `<path>`
 * itself (bare). Null for what this does not follow: a `.git` file or symlink (a linked worktree, a submodule), a
 * symlinked repository, a `<path>.git` git finds by suffix. (Whether it holds a repository is checked by the caller.)
 */
async function gitDirOf(path: string): Promise<string | null> {
  const top = await lstatOrNull(path);
  if (!top?.isDirectory()) return null;
  const dotGit = await lstatOrNull(join(path, '.git'));
  return dotGit === null ? path : dotGit.isDirectory() ? join(path, '.git') : null;
}

class Walk {
  entries = 0;
  newestNs = 0n;
  constructor(readonly hash: Hash) {}

  add(name: string, st: BigIntStats | null): void {
    if (++this.entries > MAX_ENTRIES) throw new TooMany();
    if (st === null) {
      this.hash.update(`${name}\0-\n`);
      return;
    }
    this.hash.update(`${name}\0${st.dev}\0${st.mode}\0${st.ino}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\n`);
    for (const t of [st.mtimeNs, st.ctimeNs]) if (t > this.newestNs) this.newestNs = t;
  }

  /** A directory and everything under it, by name; entries that vanish mid-walk count as missing. */
  async tree(dir: string, name: string, st: BigIntStats, depth: number): Promise<void> {
    this.add(name, st);
    if (!st.isDirectory() || depth > MAX_DEPTH) return;
    const names = (await readdir(dir).catch((e: NodeJS.ErrnoException) => (e.code === 'ENOENT' ? [] : Promise.reject(e)))).sort();
    if (this.entries + names.length > MAX_ENTRIES) throw new TooMany();
    for (const n of names) {
      const s = await lstatOrNull(join(dir, n));
      if (s?.isDirectory()) await this.tree(join(dir, n), `${name}/${n}`, s, depth + 1);
      else this.add(`${name}/${n}`, s);
    }
  }
}

class TooMany extends Error {}

/**
 * The refs fingerprint of the repository `url` names, or null when it is not a local repository this can vouch for
 * (see gitDirOf), holds more than MAX_ENTRIES loose refs, or cannot be read.
 */
export async function localRefsStamp(url: string): Promise<RefsStamp | null> {
  const path = localRepoPath(url);
  if (path === null) return null;
  try {
    const dir = await gitDirOf(path);
    if (dir === null) return null;
    const walk = new Walk(createHash('sha256').update(`${dir}\n`));
    // HEAD (a symref or a detached sha), packed-refs, config (ls-remote hides what uploadpack.hideRefs says), and
    // the ref stores: loose refs/ and, in a reftable repository, reftable/. A git dir sharing another's refs
    // (`commondir`: a linked worktree's) is not followed. One lstat at a time: each costs a trip to libuv's thread
    // pool, and at once they cost more CPU than in a row (measured: 12 in a row ~250 us, 36 in threes ~720 us).
    const head = await lstatOrNull(join(dir, 'HEAD'));
    if (head === null || (await lstatOrNull(join(dir, 'commondir'))) !== null) return null;
    walk.add('HEAD', head);
    for (const n of ['packed-refs', 'config', 'refs', 'reftable']) {
      const s = await lstatOrNull(join(dir, n));
      if (n === 'refs' && !s?.isDirectory()) return null;
      if (s?.isDirectory()) await walk.tree(join(dir, n), n, s, 0);
      else walk.add(n, s);
    }
    return { key: walk.hash.digest('hex'), newestMs: Number(walk.newestNs / 1_000_000n) };
  } catch {
    return null;
  }
}
