import { existsSync, lstatSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { gitIn } from './git.js';

/**
 * Every file under dir (symlinks not followed) that holds one of the needles, as `path: needle`: the raw bytes, and
 * for gzip files (layers, rotated logs) their expanded bytes too, so a value inside a layer cannot hide. A service
 * volume's image (`volumes/<name>.img`, a sparse file of STARPHLEET_DISK) is not read as bytes: its files are walked
 * through its mount at `volumes/<name>/`, which the walk goes into like any dir.
 */
export function findInTree(dir: string, needles: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (path: string): void => {
    const st = lstatSync(path);
    if (st.isDirectory()) {
      for (const name of readdirSync(path)) walk(join(path, name));
      return;
    }
    if (!st.isFile()) return;
    if (/\/volumes\/[^/]+\.img$/.test(path)) {
      const mount = path.slice(0, -'.img'.length);
      if (!existsSync(mount) || statSync(mount).dev === statSync(dirname(path)).dev) throw new Error(`${path} is not mounted at ${mount}: its files cannot be searched`);
      return;
    }
    const raw = readFileSync(path);
    const texts = [raw];
    if (raw[0] === 0x1f && raw[1] === 0x8b) {
      try {
        texts.push(gunzipSync(raw));
      } catch {
        // Not really gzip: the raw bytes were searched.
      }
    }
    for (const n of needles) if (texts.some((t) => t.includes(n))) found.push(`${relative(dir, path)}: ${n}`);
  };
  walk(dir);
  return found;
}

/**
 * An admiral's commit of what the working tree holds (secrets files written by `starphleet secrets`), put on top of the
 * newest HQ (the ships write ships/ meanwhile) and pushed without force. Returns the pushed sha.
 */
export function commitAndPush(work: string, message: string): string {
  gitIn(work, 'add', '-A');
  gitIn(work, 'commit', '-q', '--allow-empty', '-m', message);
  for (let i = 0; ; i++) {
    gitIn(work, 'pull', '-q', '--rebase', 'origin', 'master');
    try {
      gitIn(work, 'push', '-q', 'origin', 'HEAD:master');
      return gitIn(work, 'rev-parse', 'HEAD');
    } catch (e) {
      if (i > 20) throw e;
    }
  }
}
