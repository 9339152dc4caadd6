import { chmodSync, mkdirSync, rmSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BUILTIN_BUILDPACKS, BUILTIN_DIR, buildpackScriptEnv, type StepContext } from '../../src/agent/releases/buildpacks.js';
import { runScript } from '../../src/agent/releases/run-script.js';
import { buildPlaces, buildSandbox, stepSandbox } from '../../src/agent/releases/step-sandbox.js';

/**
 * Counts the build steps (sandboxes) a build starts: runScript records each step's process group as
 * <data>/sandbox/builds/<pid>.json while it runs (see recordBuildGroup); every distinct name seen is one step.
 */
export interface StepCounter {
  /**
   * The steps started since the last call (or since the counter was made), counted once every event before this
   * call has arrived: inotify keeps their order, and the call waits for the event of a file it writes itself.
   */
  count(): Promise<number>;
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
            rmSync(join(dir, name), { force: true });
            const found = seen.size;
            seen.clear();
            resolve(found);
          },
        };
        writeFileSync(join(dir, name), '');
      }),
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

/**
 * Each built-in's bin/detect in a sandbox of its own (its dir mounted read-only), in order, until one exits 0: how a
 * build detected the built-ins before issue 33, the reference the one-step detection must agree with.
 */
export async function detectEachAlone(app: string, ctx: StepContext): Promise<string | null> {
  for (const name of BUILTIN_BUILDPACKS) {
    const dir = join(BUILTIN_DIR, name);
    const sandbox = ctx.sandbox ? { ...ctx.sandbox, mounts: [...ctx.sandbox.mounts, { src: dir, dest: dir, rw: false }] } : null;
    const r = await runScript(join(dir, 'bin', 'detect'), [app], { cwd: app, env: ctx.scriptEnv, log: ctx.log, deadline: ctx.deadline, sandbox, recordIn: ctx.dataDir, captureStdout: true });
    if (r.stopped) throw new Error(`${name} bin/detect: ${r.stopped}`);
    if (r.code === 0) return name;
  }
  return null;
}
