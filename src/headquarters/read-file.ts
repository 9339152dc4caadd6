import { lstat, readFile } from 'node:fs/promises';

/** An HQ file's text; null when it is missing or not a plain file (a symlink or a directory is never read). */
export async function readIfFile(path: string): Promise<string | null> {
  try {
    const st = await lstat(path);
    if (!st.isFile()) return null;
    return await readFile(path, 'utf8');
  } catch {
    return null;
  }
}
