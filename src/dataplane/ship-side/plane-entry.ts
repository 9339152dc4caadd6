import { lstatSync, readFileSync, realpathSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { planePaths } from '../../data-dir/plane-paths.js';
import { writeFileAtomicSync } from '../../util/atomic-write.js';

/**
 * Which data-plane program an `upgrade` runs. The ship chooses it (its own installed version: the package it runs
 * from) and records it in the plane's own folder of the data dir, mode 0600, before it asks; the request itself names
 * nothing. The plane then runs it only if every directory up to `/` and the program itself belong to root or to the
 * plane's own user and nobody else may write them: a link a service planted, or a tree a service can write, is never
 * run. (Before, `upgrade` carried the program to run in the request: a request body smuggled onto the control socket
 * ran a command as root.)
 */
export interface PlaneProgram {
  /** The package root whose plane-main runs. */
  readonly root: string;
  /** dist: the built .js; source: the .ts through tsx (a checkout run by tsx, as the tests run). */
  readonly from: 'dist' | 'source';
}

/** This process's own package and how it runs (the ship's choice for an upgrade). */
export function ownPlaneProgram(): PlaneProgram {
  const fromSource = import.meta.url.endsWith('.ts');
  return { root: fileURLToPath(new URL('../../..', import.meta.url)), from: fromSource ? 'source' : 'dist' };
}

/** How node runs a program's plane-main (node arguments before the plane's own), and the directory to run it in. */
export function planeArgs(p: PlaneProgram): { args: string[]; cwd: string } {
  // `--import tsx` is resolved from the working directory: the program's own package, never the caller's.
  return p.from === 'dist' ? { args: [join(p.root, 'dist/dataplane/process/plane-main.js')], cwd: p.root } : { args: ['--import', 'tsx', join(p.root, 'src/dataplane/process/plane-main.ts')], cwd: p.root };
}

/** Ship: records its own program as the one the next `upgrade` runs. */
export function recordPlaneProgram(dataDir: string, p: PlaneProgram = ownPlaneProgram()): void {
  writeFileAtomicSync(planePaths.entry(dataDir), `${JSON.stringify(p)}\n`, 0o600);
}

/** Why path may not be trusted (someone other than root or uid may change it or a folder above it), or null. */
export function untrusted(path: string, uid: number = process.getuid?.() ?? 0): string | null {
  let p: string;
  try {
    p = realpathSync(path);
  } catch (e) {
    return `${path}: ${(e as Error).message}`;
  }
  for (;;) {
    const st = lstatSync(p);
    if (st.uid !== 0 && st.uid !== uid) return `${p} belongs to uid ${st.uid}`;
    // A sticky folder (/tmp) lets nobody rename what another user made in it.
    if ((st.mode & 0o022) !== 0 && !(st.isDirectory() && (st.mode & 0o1000) !== 0)) return `${p} may be written by others (mode ${(st.mode & 0o7777).toString(8)})`;
    const up = dirname(p);
    if (up === p) return null;
    p = up;
  }
}

/** Plane: the program the ship recorded, checked; throws naming the file and what is wrong. */
export function readPlaneProgram(dataDir: string): PlaneProgram {
  const file = planePaths.entry(dataDir);
  const bad = untrusted(file);
  if (bad) throw new Error(`${file}: not trusted: ${bad}`);
  let v: unknown;
  try {
    v = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
  const o = v as Partial<PlaneProgram>;
  if (typeof o !== 'object' || o === null || typeof o.root !== 'string' || !isAbsolute(o.root) || (o.from !== 'dist' && o.from !== 'source')) {
    throw new Error(`${file}: expected {"root": "<absolute path>", "from": "dist"|"source"}`);
  }
  const p = { root: o.root, from: o.from };
  const main = planeArgs(p).args.at(-1) as string;
  const why = untrusted(main);
  if (why) throw new Error(`${file}: will not run ${main}: ${why}`);
  return p;
}
