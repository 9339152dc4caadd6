import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_DIR } from './buildpacks.js';

let cached: string | null = null;

/**
 * A hash of the built-in buildpacks as installed (every file's path, mode and bytes): part of what a release is built
 * from, so a release built by other buildpacks (a starphleet update changed them) is not reused as if it were the same.
 * Read once per process: the installed files do not change under a running ship (an update is a new process).
 */
export function builtinBuildpacksDigest(dir: string = BUILTIN_DIR): string {
  if (cached !== null && dir === BUILTIN_DIR) return cached;
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const path = rel ? `${rel}/${name}` : name;
      const st = statSync(join(dir, path));
      if (st.isDirectory()) walk(path);
      else if (st.isFile()) h.update(`${path}\0${st.mode & 0o777}\0`).update(readFileSync(join(dir, path))).update('\0');
    }
  };
  walk('');
  const digest = h.digest('hex');
  if (dir === BUILTIN_DIR) cached = digest;
  return digest;
}
