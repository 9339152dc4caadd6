import { chmod, mkdir } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { dataPaths } from '../../data-dir/data-paths.js';
import { BuildFailure } from './buildpacks.js';
import type { StepSandbox } from './run-script.js';
import { openDataDirForSandboxes } from '../sandbox/data-dir.js';
import { handTo, type SandboxHost } from '../sandbox/sandbox.js';
import { serviceUid } from '../sandbox/service-users.js';
import { sandboxLimits } from '../sandbox/settings.js';
import { ensureVolume, freshDir, removeServiceTree, volumeOf, type Volume } from '../sandbox/volumes.js';
import { chooseRuntime } from '../runtime/runtime.js';
import { APP_DIR } from '../runtime/runtime-types.js';

let cached: { host: SandboxHost | null } | { error: string } | null = null;

/**
 * The sandbox of builds that were not given one: this host's, as the ship would choose it; null only with
 * STARPHLEET_RUNTIME=process. Throws (the build fails) when no sandbox works here.
 */
export function buildSandbox(env: NodeJS.ProcessEnv = process.env): SandboxHost | null {
  if (!cached) {
    try {
      cached = { host: chooseRuntime(env).runtime.sandbox() };
    } catch (e) {
      cached = { error: (e as Error).message };
    }
  }
  if ('error' in cached) throw new BuildFailure(cached.error);
  return cached.host;
}

export interface BuildDirs {
  readonly dataDir: string;
  readonly work: string;
  readonly buildDir: string;
  readonly cacheDir: string;
  readonly home: string;
  /** The service's volume: each step's /tmp is a fresh dir there. */
  readonly volume?: Volume;
  readonly envDir: string;
  readonly service: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * What a build's scripts may touch: its build dir, cache and HOME read-write (handed to the service's own uid, the
 * cache closed to every other), its env dir read-only; the service's limits. Nothing else of the data dir is mounted.
 */
export async function stepSandbox(host: SandboxHost, d: BuildDirs): Promise<StepSandbox> {
  let limits;
  let user;
  try {
    limits = sandboxLimits(d.env);
    user = host.switchUser ? serviceUid(d.dataDir, d.service) : host.user;
  } catch (e) {
    throw new BuildFailure((e as Error).message);
  }
  openDataDirForSandboxes(d.dataDir, host);
  await chmod(d.work, 0o711);
  const home = d.home;
  for (const dir of [d.buildDir, d.cacheDir, home]) handTo(host, dir, user);
  if (host.switchUser) for (const dir of [d.buildDir, d.cacheDir, home]) await chmod(dir, 0o700);
  return {
    host,
    user,
    ...(d.volume ? { volume: d.volume } : {}),
    dataDir: d.dataDir,
    hostname: d.service.slice(0, 63),
    limits,
    mounts: [
      { src: d.buildDir, dest: d.buildDir, rw: true },
      // Also at /app, where the release will be: predeploy runs there (Dokku's scripts touch /app/...).
      { src: d.buildDir, dest: APP_DIR, rw: true },
      { src: d.cacheDir, dest: d.cacheDir, rw: true },
      { src: home, dest: home, rw: true },
      { src: d.envDir, dest: d.envDir, rw: false },
    ],
  };
}


/** Where a build's service-written dirs are: the build dir (the app), its HOME and the cache. */
export interface BuildPlaces {
  readonly buildDir: string;
  readonly home: string;
  readonly cacheDir: string;
  readonly volume?: Volume;
}

/**
 * On the service's volume when there is a sandbox (so a build's writes count against STARPHLEET_DISK, and end in
 * ENOSPC there, never on the ship's disk): build/<work>/app, build/<work>/home and cache/. Without one (the process
 * runtime) in the work dir and <data>/cache/<service>, as before.
 */
export async function buildPlaces(host: SandboxHost | null, d: { dataDir: string; work: string; service: string; env: Readonly<Record<string, string>> }): Promise<BuildPlaces> {
  if (!host) {
    await mkdir(join(d.work, 'home'), { recursive: true });
    return { buildDir: join(d.work, 'build'), home: join(d.work, 'home'), cacheDir: dataPaths.cache(d.dataDir, d.service) };
  }
  let volume;
  let user;
  try {
    user = host.switchUser ? serviceUid(d.dataDir, d.service) : host.user;
    volume = ensureVolume(host, d.dataDir, d.service, sandboxLimits(d.env).diskBytes, user);
  } catch (e) {
    throw new BuildFailure(`the volume of ${d.service} (STARPHLEET_DISK): ${(e as Error).message}`);
  }
  const work = join(volume.build, basename(d.work));
  removeServiceTree(work);
  await mkdir(work, { mode: 0o711 });
  const home = freshDir(host, work, 'home', user);
  return { buildDir: join(work, 'app'), home, cacheDir: volume.cache, volume };
}

/** A build's dirs on its service's volume, removed after the build (nothing of the build runs any more). */
export function removeBuildPlaces(dataDir: string, service: string, work: string): void {
  removeServiceTree(join(volumeOf(dataDir, service).build, basename(work)));
}
