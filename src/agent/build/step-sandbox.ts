import { chmod } from 'node:fs/promises';
import { BuildFailure } from './buildpacks.js';
import type { StepSandbox } from './run-script.js';
import { openDataDirForSandboxes } from '../sandbox/data-dir.js';
import { handTo, type SandboxHost } from '../sandbox/sandbox.js';
import { sandboxLimits } from '../sandbox/settings.js';
import { chooseRuntime } from '../runtime/runtime.js';

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
  readonly envDir: string;
  readonly service: string;
  readonly env: Readonly<Record<string, string>>;
}

/**
 * What a build's scripts may touch: its build dir, cache and HOME read-write (handed to the sandbox user), its env dir
 * read-only; the service's limits. Nothing else of the data dir is mounted.
 */
export async function stepSandbox(host: SandboxHost, d: BuildDirs): Promise<StepSandbox> {
  let limits;
  try {
    limits = sandboxLimits(d.env);
  } catch (e) {
    throw new BuildFailure((e as Error).message);
  }
  openDataDirForSandboxes(d.dataDir, host);
  await chmod(d.work, 0o711);
  const home = `${d.work}/home`;
  for (const dir of [d.buildDir, d.cacheDir, home]) handTo(host, dir);
  return {
    host,
    dataDir: d.dataDir,
    hostname: d.service.slice(0, 63),
    limits,
    mounts: [
      { src: d.buildDir, dest: d.buildDir, rw: true },
      { src: d.cacheDir, dest: d.cacheDir, rw: true },
      { src: home, dest: home, rw: true },
      { src: d.envDir, dest: d.envDir, rw: false },
    ],
  };
}

