import { chmodSync, mkdirSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildpackScriptEnv, type StepContext } from '../../src/agent/releases/buildpacks.js';
import { buildPlaces, buildSandbox, stepSandbox } from '../../src/agent/releases/step-sandbox.js';

/**
 * Counts the build steps (sandboxes) a build starts: runScript records each step's process group as
 * <data>/sandbox/builds/<pid>.json while it runs (see recordBuildGroup); every distinct name seen is one step.
 */
export interface StepCounter {
  /** The steps seen so far, once every event before this call has arrived (inotify keeps their order). */
  count(): Promise<number>;
  reset(): void;
  close(): void;
}

export function countBuildSteps(dataDir: string): StepCounter {
  const dir = join(dataDir, 'sandbox', 'builds');
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o700);
  const seen = new Set<string>();
  let waiting: { name: string; done: () => void } | null = null;
  let n = 0;
  const watcher = watch(dir, (_event, name) => {
    if (name === null) return;
    if (/^\d+\.json$/.test(name)) seen.add(name);
    else if (waiting !== null && name === waiting.name) waiting.done();
  });
  return {
    count: () =>
      new Promise((resolve) => {
        const name = `.mark-${++n}`;
        waiting = {
          name,
          done: () => {
            waiting = null;
            resolve(seen.size);
          },
        };
        writeFileSync(join(dir, name), '');
      }),
    reset: () => seen.clear(),
    close: () => watcher.close(),
  };
}

/**
 * A build's step context with this host's real sandbox, as buildRelease makes it, for detection alone: the apps to
 * detect are dirs made under buildDir (which the sandbox mounts).
 */
export async function detectContext(dataDir: string, work: string, o: { deadline?: number; signal?: AbortSignal; log?: (l: string) => void } = {}): Promise<{ ctx: StepContext; buildDir: string }> {
  const host = buildSandbox();
  const service = 'detect';
  mkdirSync(work, { recursive: true, mode: 0o711 });
  const places = await buildPlaces(host, { dataDir, work, service, env: {} });
  const envDir = join(work, 'env');
  mkdirSync(places.buildDir, { recursive: true });
  mkdirSync(envDir, { recursive: true });
  mkdirSync(places.cacheDir, { recursive: true });
  const sandbox = host ? await stepSandbox(host, { dataDir, work, buildDir: places.buildDir, cacheDir: places.cacheDir, envDir, service, env: {}, home: places.home, ...(places.volume ? { volume: places.volume } : {}) }) : null;
  const timeoutMs = 120_000;
  const ctx: StepContext = {
    log: o.log ?? (() => {}),
    deadline: o.deadline ?? Date.now() + timeoutMs,
    timeoutMs,
    scriptEnv: buildpackScriptEnv(places.home, '0'.repeat(40), host !== null),
    sandbox,
    dataDir,
    ...(o.signal ? { signal: o.signal } : {}),
  };
  return { ctx, buildDir: places.buildDir };
}
