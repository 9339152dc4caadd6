import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { dataPaths } from '../data-paths.js';
import type { InstanceSpec, Runtime } from './runtime.js';

/** Mounted fresh inside the sandbox rather than bound from the host. */
const FRESH = new Set(['proc', 'dev', 'tmp', 'sys']);

/** Re-creates each entry of a host dir read-only (dirs bound, symlinks copied), skipping some names. */
function bindEntries(dir: string, skip: ReadonlySet<string>): string[] {
  const args: string[] = [];
  for (const name of readdirSync(dir)) {
    if (skip.has(name)) continue;
    const path = join(dir, name);
    let st;
    try {
      st = lstatSync(path);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(path), path);
    else if (st.isDirectory()) args.push('--ro-bind', path, path);
  }
  return args;
}

/**
 * bubblewrap: the host's system read-only, the ship's data dir hidden, the release dir read-only at its own path
 * (builds may bake absolute paths in), a private /tmp and pid namespace, /var/data the shared data tree read-write,
 * and the host network (the instance listens on the PORT the ship gave it). No --die-with-parent: instances must
 * outlive the ship. No --new-session: the instance stays in the process group the ship signals.
 */
export const bwrapRuntime: Runtime = {
  kind: 'bwrap',
  home: () => '/tmp',
  argv(spec: InstanceSpec, script: string) {
    const dataDir = resolve(spec.dataDir);
    const releaseDir = resolve(spec.release.dir);
    const args = [
      ...bindEntries('/', new Set([...FRESH, 'var'])),
      '--tmpfs', '/var',
      ...bindEntries('/var', new Set(['data'])),
      '--dev', '/dev',
      '--proc', '/proc',
      '--tmpfs', '/tmp',
      // State db, host keys, other services' releases: none of the instance's business.
      '--tmpfs', dataDir,
      '--ro-bind', releaseDir, releaseDir,
      '--bind', dataPaths.shared(dataDir), '/var/data',
      '--unshare-pid',
      '--unshare-ipc',
      '--unshare-uts',
      '--remount-ro', '/',
      '--chdir', releaseDir,
      '--',
      'bash', '-c', script,
    ];
    return { file: 'bwrap', args };
  },
};
