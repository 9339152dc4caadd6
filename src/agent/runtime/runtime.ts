import { spawn, spawnSync } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { processStartTime, type ProcIdentity } from './proc.js';
import { bwrapRuntime } from './runtime-bwrap.js';
import { processRuntime } from './runtime-process.js';
import type { Release } from '../types.js';

export type RuntimeKind = 'bwrap' | 'process';

/** What one instance needs to run: the release, its port and where its data and log go. */
export interface InstanceSpec {
  readonly release: Release;
  readonly port: number;
  /** The ship's data dir: `<dataDir>/data` is the instance's /var/data. */
  readonly dataDir: string;
  readonly logFile: string;
}

/** How a runtime runs the command: the argv to spawn (in the release dir) and the HOME the instance gets. */
export interface Runtime {
  readonly kind: RuntimeKind;
  argv(spec: InstanceSpec, script: string): { file: string; args: string[] };
  home(spec: InstanceSpec): string;
}

export class RuntimeError extends Error {}

/** A started instance: its identity (the leader of its own session and process group) and, while we are its parent, its exit. */
export interface Spawned extends ProcIdentity {
  readonly exited: Promise<void>;
}

function bwrapWorks(): boolean {
  const r = spawnSync('bwrap', ['--ro-bind', '/', '/', 'true'], { stdio: 'ignore', timeout: 10_000 });
  return r.status === 0;
}

/** STARPHLEET_RUNTIME=process|bwrap forces one; otherwise bubblewrap when it works here, plain processes when not. */
export function selectRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  const forced = env.STARPHLEET_RUNTIME;
  if (forced === 'process') return processRuntime;
  if (forced === 'bwrap') {
    if (!bwrapWorks()) throw new RuntimeError('STARPHLEET_RUNTIME=bwrap but `bwrap --ro-bind / / true` fails here: install bubblewrap or allow user namespaces');
    return bwrapRuntime;
  }
  if (forced !== undefined && forced !== '') throw new RuntimeError(`STARPHLEET_RUNTIME must be "process" or "bwrap", got ${JSON.stringify(forced)}`);
  return bwrapWorks() ? bwrapRuntime : processRuntime;
}

/** Heroku runs .profile.d scripts before the process; buildpacks put PATH and friends there. */
function script(command: string): string {
  return `for f in .profile.d/*.sh; do [ -r "$f" ] && . "$f"; done\n${command}\n`;
}

/** Env: a minimal base (PATH, HOME, LANG), then the release's env, then PORT, which is the ship's to give. */
export function instanceEnv(runtime: Runtime, spec: InstanceSpec, base: NodeJS.ProcessEnv = process.env): Record<string, string> {
  return {
    PATH: base.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: runtime.home(spec),
    LANG: base.LANG ?? 'C.UTF-8',
    ...spec.release.config.env,
    PORT: String(spec.port),
  };
}

/**
 * Starts the release's command detached, in its own session and process group, stdout/stderr appended to its log
 * file: nothing ties it to the ship, so it outlives a restart of the ship and the next ship adopts it.
 */
export function spawnInstance(runtime: Runtime, spec: InstanceSpec): Spawned {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(`${spec.dataDir}/data`, { recursive: true });
  const fd = openSync(spec.logFile, 'a');
  try {
    const { file, args } = runtime.argv(spec, script(spec.release.config.command));
    const child = spawn(file, args, {
      cwd: spec.release.dir,
      env: instanceEnv(runtime, spec),
      detached: true,
      stdio: ['ignore', fd, fd],
    });
    const pid = child.pid;
    if (pid === undefined) throw new RuntimeError(`could not start ${file} for release ${spec.release.config.id}`);
    child.unref();
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    const startTime = processStartTime(pid);
    if (startTime === null) return { pid, startTime: 'gone', exited };
    return { pid, startTime, exited };
  } finally {
    closeSync(fd);
  }
}
