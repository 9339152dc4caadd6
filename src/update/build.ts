import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killGroup } from '../util/process-group.js';

/** Where a step's output goes, line by line as it comes (an admiral's update@ session). */
export type Progress = (text: string) => void;

export class StepFailed extends Error {}

/**
 * Runs one build step in dir with its output streamed to progress; rejects with StepFailed naming the step and how it
 * ended (exit code, signal, time limit). Its own process group, so the time limit or an abort ends npm's children too.
 */
export function runStep(
  what: string,
  cmd: string,
  args: readonly string[],
  o: { cwd: string; progress: Progress; timeoutMs: number; signal?: AbortSignal; env?: NodeJS.ProcessEnv },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, [...args], { cwd: o.cwd, env: o.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let why = '';
    const kill = (reason: string): void => {
      why ||= reason;
      killGroup(child.pid, 'SIGKILL');
    };
    const timer = setTimeout(() => kill(`timed out after ${o.timeoutMs / 1000} s`), o.timeoutMs);
    const onAbort = (): void => kill('aborted: the caller went away');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    const take = (b: Buffer): void => {
      const s = b.toString('utf8');
      out += s;
      o.progress(s);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', (e) => {
      why ||= e.message;
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      if (code === 0 && !why) return resolve(out);
      reject(new StepFailed(`${what} failed: ${why || (signal ? `killed by ${signal}` : `exit ${code}`)}`));
    });
  });
}

/** The same package-lock.json as the running version: its installed node_modules are what `npm ci` would produce. */
export function sameLockfile(a: string, b: string): boolean {
  const fa = join(a, 'package-lock.json');
  const fb = join(b, 'package-lock.json');
  return existsSync(fa) && existsSync(fb) && existsSync(join(b, 'node_modules')) && readFileSync(fa).equals(readFileSync(fb));
}

export interface BuildOptions {
  readonly dir: string;
  /** The running version's package root: its node_modules are copied when the lock file did not change. */
  readonly runningRoot: string;
  readonly progress: Progress;
  readonly timeoutMs: number;
  readonly signal?: AbortSignal;
}

/**
 * Installs and builds a fetched version, then checks it: its own `starphleet version` must run and print a version.
 * Dependencies: `npm ci`, unless package-lock.json is byte-identical to the running version's, in which case the
 * running node_modules are copied (same lock file and same node: the tree npm ci would make, without rebuilding native
 * modules, which takes minutes). Returns the new version string.
 */
export async function buildVersion(o: BuildOptions): Promise<string> {
  const step = { cwd: o.dir, progress: o.progress, timeoutMs: o.timeoutMs, ...(o.signal ? { signal: o.signal } : {}) };
  if (sameLockfile(o.dir, o.runningRoot)) {
    o.progress('dependencies unchanged: copying node_modules of the running version\n');
    await runStep('copying node_modules', 'cp', ['-a', '--', join(o.runningRoot, 'node_modules'), join(o.dir, 'node_modules')], step);
  } else {
    o.progress('$ npm ci\n');
    await runStep('npm ci', 'npm', ['ci', '--no-audit', '--no-fund', '--prefer-offline'], step);
  }
  o.progress('$ npm run build\n');
  await runStep('npm run build', 'npm', ['run', 'build'], step);
  return checkVersion(o.dir, step);
}

/** The new build's `starphleet version`, run by the node that will run the ship. */
export async function checkVersion(dir: string, step: { cwd: string; progress: Progress; timeoutMs: number }): Promise<string> {
  const cli = join(dir, 'dist', 'cli.js');
  if (!existsSync(cli)) throw new StepFailed(`the build made no ${cli}`);
  const out = await runStep('the new starphleet version check', process.execPath, [cli, 'version'], { ...step, progress: () => {}, timeoutMs: 60_000 });
  const version = out.trim().split('\n').pop()?.trim() ?? '';
  if (!/^\S+$/.test(version)) throw new StepFailed(`the new starphleet version check printed ${JSON.stringify(out.slice(0, 200))}, not a version`);
  return version;
}
