import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';

/** More than any Procfile, app.json, .env or healthcheck file holds: a bigger one is refused, not read into memory. */
const MAX_BYTES = 1024 * 1024;

/**
 * A file a service wrote (its tree after its build scripts ran: Procfile, app.json, healthcheck, .env), read by the
 * root ship without following anything the service could have planted: the name is one entry of a dir the ship made
 * (no `/`), opened with O_NOFOLLOW (a symlink there, to /etc/shadow or a key, fails with ELOOP) and O_NONBLOCK (a
 * fifo does not hang the ship), and must be a regular file of at most 1 MiB. null when there is none; anything else
 * that is not a plain file throws, naming the file.
 */
export async function readServiceFile(dir: string, name: string): Promise<string | null> {
  if (name.includes('/') || name === '.' || name === '..') throw new Error(`${name}: not a file name`);
  let fh;
  try {
    fh = await open(join(dir, name), constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return null;
    if (code === 'ELOOP') throw new Error(`${name} is a symlink: the ship reads only a plain file there`);
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  try {
    const st = await fh.stat();
    if (!st.isFile()) throw new Error(`${name} is not a plain file`);
    if (st.size > MAX_BYTES) throw new Error(`${name} holds ${st.size} bytes: at most ${MAX_BYTES}`);
    return await fh.readFile('utf8');
  } finally {
    await fh.close();
  }
}
