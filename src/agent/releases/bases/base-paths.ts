import { createHash } from 'node:crypto';
import { lstatSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Mount } from '../../sandbox/sandbox.js';

/** Where a base is seen inside every sandbox: the prefix its provision script installed into. */
export const BASES_MOUNT = '/opt/starphleet/bases';

/** A built container base: HQ `containers/<name>` at the sha256 of the script's content. */
export interface BaseRef {
  readonly name: string;
  readonly hash: string;
}

/** `<data>/bases/<name>/<hash>/`: one read-only tree per content of the script. */
export function baseDir(dataDir: string, base: BaseRef): string {
  return join(dataDir, 'bases', base.name, base.hash);
}

/** Its prefix inside a sandbox (one per name: a release uses one base). */
export function basePrefix(name: string): string {
  return `${BASES_MOUNT}/${name}`;
}

/** The base's read-only mount into a sandbox (build step, instance, one-off). */
export function baseMount(dataDir: string, base: BaseRef): Mount {
  return { src: baseDir(dataDir, base), dest: basePrefix(base.name), rw: false };
}

/** PATH with the base's bin/ first: the sandbox's view of it, or the tree itself where nothing is mounted (process runtime). */
export function pathWithBase(path: string | undefined, bin: string): string {
  return path ? `${bin}:${path}` : `${bin}:/usr/local/bin:/usr/bin:/bin`;
}

export function baseBin(dataDir: string, base: BaseRef, sandboxed: boolean): string {
  return `${sandboxed ? basePrefix(base.name) : baseDir(dataDir, base)}/bin`;
}

/**
 * What the deploy inputs know of a service's base: the sha256 of HQ containers/<name> as checked out now (so an edited
 * script redeploys the services that use it, with a base built for the new content), or why there is none.
 * Undefined when the orders name no base: their inputs stay what they were.
 */
export function baseScriptHash(hqDir: string, name: string | undefined): string | undefined {
  if (name === undefined || name === '') return undefined;
  try {
    const file = join(hqDir, 'containers', name);
    if (!lstatSync(file).isFile()) return `${name}: not a file`;
    return `${name}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
  } catch {
    return `${name}: missing`;
  }
}
