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
