import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';

/** Disk use of a tree in bytes (allocated blocks, as `du` counts), symlinks not followed; what vanishes meanwhile is skipped. */
export async function treeBytes(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  let total = st.blocks * 512;
  if (!st.isDirectory()) return total;
  let names: string[] = [];
  try {
    names = await readdir(path);
  } catch {
    return total;
  }
  for (const n of names) total += await treeBytes(join(path, n));
  return total;
}
