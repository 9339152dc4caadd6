import { randomBytes } from 'node:crypto';
import { lstat, mkdir, readdir, readlink, rename, symlink, unlink } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { exportTree } from '../agent/releases/source.js';
import { makeReadOnly, removeTree } from '../data-dir/data-paths.js';
import { insideRoot } from '../paths.js';

/** One segment of a data order's path, as HQ allows directory names (no `.`-names, so never `..`). */
const SEGMENT = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}$/;

/** The trees of data orders, inside the shared data root so their links resolve in a sandbox's /var/data too. */
export const TREES = '.data-orders';

/** A checked data order path (`a/b`), or why it cannot be one. */
export function checkDataPath(path: string): string | null {
  const parts = path.split('/');
  if (path === '' || parts.some((p) => !SEGMENT.test(p))) return `data path ${JSON.stringify(path)} must be directory names (letters, digits, . _ ~ -; not starting with .) joined by /`;
  if (parts[0] === TREES) return `data path ${JSON.stringify(path)} is reserved`;
  return null;
}

/** `a/b` -> `a+b`: one directory name per data order (`+` is in no segment, so no two paths share one). */
export function treeKey(path: string): string {
  return path.split('/').join('+');
}

export function pathOfKey(key: string): string {
  return key.split('+').join('/');
}

async function lstatOrNull(path: string): Promise<Awaited<ReturnType<typeof lstat>> | null> {
  try {
    return await lstat(path);
  } catch {
    return null;
  }
}

/**
 * The directories above a data order's link, made by the ship when missing. Instances write /var/data: one that put a
 * symlink (or a file) where a directory of the path belongs would have the ship write where the link points, so
 * anything but a real directory stops the sync.
 */
async function parentDirs(root: string, path: string): Promise<string> {
  const parts = path.split('/');
  let dir = root;
  for (const part of parts.slice(0, -1)) {
    dir = join(dir, part);
    const st = await lstatOrNull(dir);
    if (st === null) await mkdir(dir, { mode: 0o755 });
    else if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`/var/data/${relative(root, dir)} is not a directory (something in /var/data made it a ${st.isSymbolicLink() ? 'symlink' : 'file'}): not synced`);
  }
  return dir;
}

/**
 * <root>/.data-orders, made by the ship: instances cannot write inside it, but they may rename it (its parent is
 * theirs), so a symlink in its place stops the sync instead of being followed.
 */
async function treesDir(root: string): Promise<string> {
  const dir = join(root, TREES);
  const st = await lstatOrNull(dir);
  if (st === null) await mkdir(dir, { mode: 0o755 });
  else if (!st.isDirectory() || st.isSymbolicLink()) throw new Error(`/var/data/${TREES} is not the ship's directory (something in /var/data replaced it): not synced`);
  return dir;
}

/** The tree at `sha`, made once (exported beside, read-only, then renamed into place); returns its path. */
export async function ensureTree(root: string, path: string, repo: string, sha: string): Promise<string> {
  const dir = join(await treesDir(root), treeKey(path));
  await mkdir(dir, { recursive: true, mode: 0o755 });
  const tree = join(dir, sha);
  if ((await lstatOrNull(tree))?.isDirectory()) return tree;
  const tmp = join(dir, `.tmp-${randomBytes(6).toString('hex')}`);
  try {
    await exportTree(repo, sha, tmp);
    await makeReadOnly(tmp);
    await rename(tmp, tree);
  } catch (e) {
    await removeTree(tmp).catch(() => undefined);
    throw e;
  }
  return tree;
}

/**
 * Points /var/data/<path> at the tree: a new link beside, renamed over the old one, so a reader sees the old tree or
 * the new one, never a mix or nothing. Something else at that name (an instance's own dir) is left alone.
 */
export async function switchLink(root: string, path: string, tree: string): Promise<void> {
  const link = insideRoot(root, path);
  if (link === null || checkDataPath(path) !== null) throw new Error(`data path ${JSON.stringify(path)} leaves /var/data`);
  const parent = await parentDirs(root, path);
  const st = await lstatOrNull(link);
  if (st !== null && !st.isSymbolicLink()) throw new Error(`/var/data/${path} already exists and is not a data order's link (an instance made it?): left alone, not synced`);
  const target = relative(parent, tree);
  if (st !== null && (await readlink(link)) === target) return;
  const tmp = join(parent, `.tmp-link-${randomBytes(6).toString('hex')}`);
  await symlink(target, tmp);
  try {
    await rename(tmp, link);
  } catch (e) {
    await unlink(tmp).catch(() => undefined);
    throw e;
  }
}

/** Removes the trees of a data order but `keep` (the one linked now and the one before, which readers may still be in). */
export async function pruneTrees(root: string, path: string, keep: readonly string[]): Promise<void> {
  const dir = join(await treesDir(root), treeKey(path));
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) if (!keep.includes(n)) await removeTree(join(dir, n));
}

/** A data order gone from HQ: its link (only if it is still ours) and its trees go. */
export async function removeOrder(root: string, key: string): Promise<void> {
  const path = pathOfKey(key);
  const link = checkDataPath(path) === null ? insideRoot(root, path) : null;
  if (link !== null) {
    const st = await lstatOrNull(link);
    if (st?.isSymbolicLink() && (await readlink(link)).includes(`${TREES}/${key}/`)) await unlink(link);
  }
  await removeTree(join(await treesDir(root), key));
}

/** Data orders with trees on disk, by key. */
export async function ordersOnDisk(root: string): Promise<string[]> {
  try {
    return (await readdir(join(root, TREES))).filter((n) => !n.startsWith('.'));
  } catch {
    return [];
  }
}
