import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** Files the ship reads out of an app's tree (.env, Procfile, app.json, .buildpacks...) are small; bigger ones are refused. */
export const REPO_FILE_MAX = 1024 * 1024;

/**
 * A file at the top of an app's tree, read by the ship (root) as hostile input: the tree is the repo author's (and,
 * after bin/compile, the sandbox's), so the name may be a symlink to a secret of the host, a FIFO that never ends, a
 * terminal, or huge. `name` is one entry of a dir the ship made (no `/`: nothing on the way to follow). Only a regular
 * file is read (O_NOFOLLOW, O_NONBLOCK, O_NOCTTY, fstat), up to `max` bytes. Null when there is none; anything else
 * there fails, naming the file. The one reader of Procfile, app.json, .env, .buildpacks and healthcheck.
 */
export async function readRepoFile(dir: string, name: string, max = REPO_FILE_MAX): Promise<string | null> {
  if (name.includes('/') || name === '' || name === '.' || name === '..') throw new Error(`${JSON.stringify(name)}: not a file name`);
  let fh;
  try {
    fh = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return null;
    if (code === 'ELOOP') throw new Error(`${name} is a symlink: the ship does not follow it (commit the file itself)`);
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${name} is not a regular file`);
    if (st.size > max) throw new Error(`${name} is ${st.size} bytes: more than the ${max} the ship reads`);
    // Read to the end (it may have grown since fstat), never past max.
    const buf = Buffer.alloc(max + 1);
    let got = 0;
    for (;;) {
      const { bytesRead } = await fh.read(buf, got, buf.length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
      if (got > max) throw new Error(`${name} grew past the ${max} bytes the ship reads`);
    }
    return buf.subarray(0, got).toString('utf8');
  } finally {
    await fh.close();
  }
}
