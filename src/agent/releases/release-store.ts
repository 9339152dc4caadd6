import { randomBytes } from 'node:crypto';
import { lstat, readdir, readFile, readlink, rename, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { collectLayers } from './layers.js';
import { checkServiceName, dataPaths, removeTree } from '../../data-dir/data-paths.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { Release, ReleaseConfig, ReleaseSecrets } from '../types.js';

const RELEASE_ID = /^[0-9]{14}-[0-9a-f]{7}(-[0-9]+)?$/;

/** Release ids being built right now (per service): their dirs may briefly exist without a config; prune leaves them. */
export const inProgress = new Map<string, string>();

function checkId(id: string): string {
  if (!RELEASE_ID.test(id)) throw new Error(`bad release id ${JSON.stringify(id)}`);
  return id;
}

function parseConfig(text: string, file: string): ReleaseConfig {
  let c: unknown;
  try {
    c = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not JSON: ${(e as Error).message}`);
  }
  const o = c as Partial<ReleaseConfig> | null;
  if (!o || typeof o !== 'object' || typeof o.id !== 'string' || typeof o.service !== 'string' || !Array.isArray(o.layers) || typeof o.command !== 'string')
    throw new Error(`${file}: not a release config (needs service, id, layers, command)`);
  return o as ReleaseConfig;
}

/**
 * A config as others may see it (the config layer, configs/<name>.json, the SFTP view): the names of its env, not the
 * values, which stay in releases/<id>.json (0600, not in the SFTP view) for the instances; of its HQ secrets, only
 * the names (their sealed copies and digest stay in releases/<id>.json, their values are on no disk at all).
 */
export function publicConfig<T extends { readonly env: Readonly<Record<string, string>>; readonly secrets?: ReleaseSecrets }>(c: T): Omit<T, 'env' | 'secrets'> & { envNames: string[]; secretNames?: string[] } {
  const { env, secrets, ...rest } = c;
  return { ...rest, envNames: Object.keys(env).sort(), ...(secrets ? { secretNames: [...secrets.names] } : {}) };
}

/** The release with this id, or null when there is none (or it is unfinished). */
export async function loadRelease(dataDir: string, service: string, id: string): Promise<Release | null> {
  const releases = dataPaths.releases(dataDir, service);
  const file = join(releases, `${checkId(id)}.json`);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
    if (!(await lstat(join(releases, id))).isDirectory()) return null;
  } catch {
    return null;
  }
  return { config: parseConfig(text, file), dir: join(releases, id) };
}

/** Finished releases of a service, oldest first. */
export async function listReleases(dataDir: string, service: string): Promise<Release[]> {
  let names: string[];
  try {
    names = await readdir(dataPaths.releases(dataDir, service));
  } catch {
    return [];
  }
  const ids = names.filter((n) => n.endsWith('.json') && RELEASE_ID.test(n.slice(0, -5))).map((n) => n.slice(0, -5));
  const out: Release[] = [];
  for (const id of ids) {
    const r = await loadRelease(dataDir, service, id).catch(() => null);
    if (r) out.push(r);
  }
  return out.sort((a, b) => a.config.createdAt.localeCompare(b.config.createdAt) || a.config.id.localeCompare(b.config.id));
}

/** The release `current` points at, or null. */
export async function servingRelease(dataDir: string, service: string): Promise<Release | null> {
  let target: string;
  try {
    target = await readlink(dataPaths.current(dataDir, service));
  } catch {
    return null;
  }
  const m = /^releases\/([^/]+)$/.exec(target);
  return m && RELEASE_ID.test(m[1] as string) ? loadRelease(dataDir, service, m[1] as string) : null;
}

/** Points services/<name>/current at the release and copies its config to configs/<name>.json, each atomically. */
export async function markServing(dataDir: string, service: string, id: string): Promise<Release> {
  const release = await loadRelease(dataDir, service, id);
  if (!release) throw new Error(`service ${service} has no release ${id}`);
  const current = dataPaths.current(dataDir, service);
  const tmp = `${current}.tmp-${randomBytes(4).toString('hex')}`;
  await symlink(`releases/${id}`, tmp);
  try {
    await rename(tmp, current);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  await writeFileAtomic(dataPaths.config(dataDir, service), `${JSON.stringify(publicConfig(release.config), null, 2)}\n`);
  return release;
}

/** Layer shas that any retained release of any service, or any serving config, still needs. */
async function referencedLayers(dataDir: string): Promise<Set<string>> {
  const refs = new Set<string>();
  let services: string[] = [];
  try {
    services = await readdir(dataPaths.services(dataDir));
  } catch {
    // No services yet.
  }
  for (const s of services) {
    try {
      checkServiceName(s);
    } catch {
      continue;
    }
    for (const r of await listReleases(dataDir, s)) for (const l of r.config.layers) refs.add(l.sha256);
  }
  let configs: string[] = [];
  try {
    configs = await readdir(dataPaths.configs(dataDir));
  } catch {
    // None serving.
  }
  for (const name of configs.filter((n) => n.endsWith('.json'))) {
    const file = join(dataPaths.configs(dataDir), name);
    try {
      for (const l of parseConfig(await readFile(file, 'utf8'), file).layers) refs.add(l.sha256);
    } catch {
      // A config being replaced right now: its layers belong to a release counted above.
    }
  }
  return refs;
}

/**
 * Keeps the newest `keep` releases and the serving one; removes the others, leftovers of interrupted builds, and the
 * layers no retained release references. Returns the removed release ids.
 */
export async function pruneReleases(dataDir: string, service: string, keep = 5): Promise<string[]> {
  if (!Number.isInteger(keep) || keep < 1) throw new Error(`keep must be a whole number >= 1, got ${keep}`);
  const dir = dataPaths.releases(dataDir, service);
  const all = await listReleases(dataDir, service);
  const serving = (await servingRelease(dataDir, service))?.config.id;
  const retained = new Set(all.slice(-keep).map((r) => r.config.id));
  if (serving) retained.add(serving);
  const building = inProgress.get(service);
  const removed: string[] = [];
  for (const r of all) {
    if (retained.has(r.config.id)) continue;
    // The config goes first: a release without one no longer exists for anyone reading.
    await rm(join(dir, `${r.config.id}.json`), { force: true });
    await removeTree(r.dir);
    removed.push(r.config.id);
  }
  let names: string[] = [];
  try {
    names = await readdir(dir);
  } catch {
    // Nothing built yet.
  }
  for (const name of names) {
    // <id>.released (deploy/reuse.ts) goes with its release.
    const id = name.replace(/\.(json|released)$/, '');
    if (retained.has(id) || id === building) continue;
    if (RELEASE_ID.test(id) || name.startsWith('.tmp-')) await removeTree(join(dir, name));
  }
  await collectLayers(dataDir, await referencedLayers(dataDir));
  return removed;
}

/** Everything the build side keeps for a service whose order was removed (logs stay for the post-mortem). */
export async function removeService(dataDir: string, service: string): Promise<void> {
  await rm(dataPaths.config(dataDir, service), { force: true });
  await removeTree(dataPaths.service(dataDir, service));
  await removeTree(dataPaths.cache(dataDir, service));
  await collectLayers(dataDir, await referencedLayers(dataDir));
}
