import { chmod, lstat, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SAFE_NAME } from '../paths.js';

/** A service name is one path segment (mount path with `/` turned into `.`): anything else could leave its folder. */
export function checkServiceName(service: string): string {
  if (!SAFE_NAME.test(service)) throw new Error(`bad service name ${JSON.stringify(service)}: letters, digits, '.', '_', '~' and '-' only, not starting with '.'`);
  return service;
}

/** The data dir's layout (see types.ts), in one place: the agent writes it, the SFTP view and commands read it. */
export const dataPaths = {
  services: (dataDir: string): string => join(dataDir, 'services'),
  configs: (dataDir: string): string => join(dataDir, 'configs'),
  logsRoot: (dataDir: string): string => join(dataDir, 'logs'),
  /** The ship's data orders (root's), read-only at /run/starphleet/data in every sandbox, linked into each /var/data. */
  shared: (dataDir: string): string => join(dataDir, 'data'),
  layers: (dataDir: string): string => join(dataDir, 'layers'),
  layer: (dataDir: string, sha256: string): string => join(dataDir, 'layers', `${sha256}.tar.gz`),
  service: (dataDir: string, service: string): string => join(dataDir, 'services', checkServiceName(service)),
  releases: (dataDir: string, service: string): string => join(dataDir, 'services', checkServiceName(service), 'releases'),
  current: (dataDir: string, service: string): string => join(dataDir, 'services', checkServiceName(service), 'current'),
  config: (dataDir: string, service: string): string => join(dataDir, 'configs', `${checkServiceName(service)}.json`),
  cache: (dataDir: string, service: string): string => join(dataDir, 'cache', checkServiceName(service)),
  logs: (dataDir: string, service: string): string => join(dataDir, 'logs', checkServiceName(service)),
  /** Scratch space on the data dir's file system, so finished work moves into place with a rename. */
  tmp: (dataDir: string): string => join(dataDir, 'tmp'),
};

/** Gives the owner write permission back on a tree made read-only, so it can be removed. Never follows symlinks. */
export async function makeWritable(path: string): Promise<void> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) return;
  await chmod(path, st.mode | 0o200);
  if (st.isDirectory()) for (const e of await readdir(path)) await makeWritable(join(path, e));
}

/** Takes write permission away from everyone (chmod -R a-w), directories last so the walk can still list them. */
export async function makeReadOnly(path: string): Promise<void> {
  const st = await lstat(path);
  if (st.isSymbolicLink()) return;
  if (st.isDirectory()) for (const e of await readdir(path)) await makeReadOnly(join(path, e));
  await chmod(path, st.mode & ~0o222);
}

export async function removeTree(path: string): Promise<void> {
  await makeWritable(path);
  await rm(path, { recursive: true, force: true });
}
