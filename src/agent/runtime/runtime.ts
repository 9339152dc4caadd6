import { spawn } from 'node:child_process';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import { processStartTime, type ProcIdentity } from './proc.js';
import { bwrapRuntime } from './runtime-bwrap.js';
import { processRuntime } from './runtime-process.js';
import { INSTANCE_MARK, instanceMark } from './strays.js';
import { RuntimeError, SANDBOX_PATH, type InstanceSpec, type Runtime } from './runtime-types.js';
import { posixShellQuote } from '../../util/shell-quote.js';
import { describeHost, probeSandbox } from '../sandbox/sandbox.js';
import { sandboxUser } from '../sandbox/user.js';
import { runtimeSetting } from '../../settings/agent-settings.js';

export { RuntimeError, SANDBOX_PATH, type InstanceSpec, type Runtime, type RuntimeKind } from './runtime-types.js';

/** How a process we are the parent of ended: its exit code, or the signal that killed it. */
export interface ExitStatus {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/** A started instance: its identity (the leader of its own session and process group) and, while we are its parent, its exit. */
export interface Spawned extends ProcIdentity {
  readonly exited: Promise<ExitStatus | null>;
  /** Its address on the ship's bridge (the direct path), null otherwise. */
  readonly address: string | null;
}

/** The runtime chosen, and when service code cannot run here, why (for the ship's log and status). */
export interface RuntimeChoice {
  readonly runtime: Runtime;
  readonly problem: string | null;
}

/** A sandbox runtime that cannot start sandboxes: every launch and build fails with the reason, nothing runs unsandboxed. */
function unavailable(reason: string): Runtime {
  const fail = (): never => {
    throw new RuntimeError(`no sandbox on this ship: ${reason}; set STARPHLEET_RUNTIME=process to run service code without one (unsafe for untrusted code)`);
  };
  return { kind: 'bwrap', launch: fail, sandbox: fail };
}

/**
 * STARPHLEET_RUNTIME=process runs service code without a sandbox (explicitly only); otherwise (or =bwrap) the bubblewrap
 * sandbox, probed once here. A sandbox that does not work is never silently replaced by plain processes.
 */
export function chooseRuntime(env: NodeJS.ProcessEnv = process.env): RuntimeChoice {
  const forced = runtimeSetting(env, (m) => new RuntimeError(m));
  if (forced === 'process') return { runtime: processRuntime, problem: null };
  let reason: string | null;
  let host;
  try {
    host = describeHost(sandboxUser(env));
    reason = probeSandbox(host);
  } catch (e) {
    reason = (e as Error).message;
  }
  if (reason !== null || !host) return { runtime: unavailable(reason ?? 'unknown'), problem: reason };
  return { runtime: bwrapRuntime(host), problem: null };
}

/** The runtime alone; throws when STARPHLEET_RUNTIME=bwrap was asked for and no sandbox works here. */
export function selectRuntime(env: NodeJS.ProcessEnv = process.env): Runtime {
  const c = chooseRuntime(env);
  if (runtimeSetting(env, (m) => new RuntimeError(m)) === 'bwrap' && c.problem !== null && c.runtime.kind === 'bwrap') {
    try {
      c.runtime.sandbox();
    } catch (e) {
      throw new RuntimeError(`STARPHLEET_RUNTIME=bwrap: ${(e as Error).message}`);
    }
  }
  return c.runtime;
}

/**
 * Heroku runs .profile.d scripts before the process; buildpacks put PATH and friends there. The command then replaces
 * the shell (`exec bash -c`: bash itself execs a simple command), so no shell stays around the app: one process less
 * per instance (3 MiB of RSS), and the app is the leader of its session.
 */
export function instanceScript(command: string): string {
  return `for f in .profile.d/*.sh; do [ -r "$f" ] && . "$f"; done\nexec bash -c ${posixShellQuote(command)}\n`;
}

/**
 * Env: a fixed base (PATH, LANG: nothing of the ship's own env), then the release's env, then its secrets (their names
 * in force were chosen at the deploy: HQ .starphleet's names are not among them), then PORT and DYNO, which are the
 * ship's to give. HOME is the runtime's.
 */
export function instanceEnv(spec: InstanceSpec): Record<string, string> {
  return {
    PATH: SANDBOX_PATH,
    LANG: 'C.UTF-8',
    ...spec.release.config.env,
    ...spec.secrets,
    PORT: String(spec.port),
    // Heroku's DYNO: the process type and its number (web.1, worker.2); one-offs are <kind>.1 (release.1, run.1).
    DYNO: spec.name ?? `${spec.process ?? 'web'}.1`,
  };
}

/**
 * Starts the release's command detached, in its own session and process group, stdout/stderr appended to its log
 * file: nothing ties it to the ship, so it outlives a restart of the ship and the next ship adopts it.
 */
export function spawnInstance(runtime: Runtime, spec: InstanceSpec): Spawned {
  mkdirSync(dirname(spec.logFile), { recursive: true });
  mkdirSync(`${spec.dataDir}/data`, { recursive: true });
  const { file, args, env, cwd, argv0, address } = runtime.launch(spec, instanceScript(spec.command ?? spec.release.config.command), instanceEnv(spec));
  const fd = openSync(spec.logFile, 'a');
  try {
    const marked = { ...env, [INSTANCE_MARK]: instanceMark(runtime.kind, spec.id, spec.dataDir) };
    const child = spawn(file, args, { cwd, env: marked, detached: true, stdio: ['ignore', fd, fd], ...(argv0 !== undefined ? { argv0 } : {}) });
    const pid = child.pid;
    if (pid === undefined) throw new RuntimeError(`could not start ${file} for release ${spec.release.config.id}`);
    child.unref();
    const exited = new Promise<ExitStatus>((r) => child.once('exit', (code, signal) => r({ code, signal })));
    const startTime = processStartTime(pid);
    return { pid, startTime: startTime ?? 'gone', exited, address: address ?? null };
  } finally {
    closeSync(fd);
  }
}
