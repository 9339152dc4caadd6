import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { killGroup as signalGroup } from '../../util/process-group.js';
import { recordBuildGroup } from '../sandbox/build-groups.js';
import { oomKills, pidsRefused, removeCgroup, type Cgroup } from '../sandbox/cgroups.js';
import { prepareSandbox, removeRunDir, type Mount, type SandboxHost } from '../sandbox/sandbox.js';
import type { SandboxLimits } from '../sandbox/settings.js';
import type { SandboxUser } from '../sandbox/user.js';
import type { Volume } from '../sandbox/volumes.js';
import type { LineSink } from '../types.js';
import { stepActivity } from './step-activity.js';
import { printable } from '../../util/terminal-safe.js';

/** The sandbox a build step runs in: what it may write and read besides the system, and the service's limits. */
export interface StepSandbox {
  readonly host: SandboxHost;
  readonly dataDir: string;
  readonly mounts: readonly Mount[];
  readonly hostname: string;
  readonly limits: SandboxLimits;
  /** The service's own uid (the ship-wide sandbox user when not given: container bases). */
  readonly user?: SandboxUser;
  /** The service's volume: each step's /tmp is a fresh dir there. */
  readonly volume?: Volume;
}

export interface ScriptOptions {
  readonly cwd: string;
  readonly env: Record<string, string>;
  /** Every output line goes here as it arrives; stdout is also returned when captureStdout is set. */
  readonly log: LineSink;
  readonly deadline: number;
  readonly signal?: AbortSignal;
  readonly captureStdout?: boolean;
  /** Milliseconds between SIGTERM and SIGKILL of the process group (default 5000). */
  readonly graceMs?: number;
  /** Runs the program in this sandbox (null: as the ship, only with STARPHLEET_RUNTIME=process). */
  readonly sandbox?: StepSandbox | null;
  /** The data dir: the step's process group is recorded there while it runs (see killLeftoverBuilds). */
  readonly recordIn?: string;
  /**
   * After this many ms without a line of output, say what the step is waiting for (see stepActivity), and again after
   * every further such stretch (STARPHLEET_BUILD_QUIET). 0 or absent: never.
   */
  readonly quietMs?: number;
  /** The step's name in those lines (`node bin/compile`). */
  readonly what?: string;
}

export interface ScriptResult {
  readonly code: number | null;
  readonly stdout: string;
  /** Why it was stopped, when it was: 'timeout' or 'aborted'. */
  readonly stopped?: 'timeout' | 'aborted';
  /** What its cgroup says, when it ended by a limit. */
  readonly limit?: string;
  /** The last `----->` step line it printed (a buildpack's own step names: `-----> npm ci`), when it printed one. */
  readonly lastStep?: string;
  /** What it was running when it was stopped (timeout, abort): see stepActivity. */
  readonly activity?: string;
  /**
   * Its own word on a failure: the first line of the last block of ` !     ` lines it printed (Heroku's buildpacks mark
   * an error that way: `engines.node ... asks for ">=99"`), without the mark.
   */
  readonly complaint?: string;
  /** Its last lines of output (up to 5), for a failure message. */
  readonly tail: readonly string[];
}

/** Splits a byte stream into lines, keeping the partial tail until more comes (or the stream ends). */
function lineSplitter(emit: (line: string) => void): { push(b: Buffer): void; end(): void } {
  let tail = '';
  return {
    push(b) {
      const parts = (tail + b.toString('utf8')).split(/\r?\n|\r/);
      tail = parts.pop() ?? '';
      for (const p of parts) emit(p);
    },
    end() {
      if (tail !== '') emit(tail);
      tail = '';
    },
  };
}

/** bwrap's own error when it could not set the sandbox up, or the launcher's when its network could not be: before the program ran. */
const BWRAP_SETUP_ERROR = /^(bwrap: |starphleet: network setup failed)/;
const SETUP_TRIES = 3;

/**
 * Runs a program in its own process group, streaming its output line by line. On timeout or abort the whole group
 * (npm and everything it started) gets SIGTERM, then SIGKILL after the grace period. A sandbox that fails to set
 * itself up (bwrap's own error and nothing else, as a kernel refusing the loopback address of a new network
 * namespace once in a while) is tried again, up to three times: the program never ran, so nothing is repeated.
 */
export async function runScript(file: string, args: readonly string[], o: ScriptOptions): Promise<ScriptResult> {
  for (let attempt = 1; ; attempt++) {
    const r = await runOnce(file, args, o);
    if (!r.notStarted || attempt >= SETUP_TRIES || o.signal?.aborted || Date.now() >= o.deadline) return r.result;
    o.log(`starphleet: the sandbox did not start; trying again (${attempt + 1} of ${SETUP_TRIES})`);
    await new Promise((resolve) => setTimeout(resolve, 250 * attempt));
  }
}

function runOnce(file: string, args: readonly string[], o: ScriptOptions): Promise<{ result: ScriptResult; notStarted: boolean }> {
  let spawnFile = file;
  let spawnArgs = args;
  let spawnEnv = o.env;
  let spawnCwd = o.cwd;
  let spawnArgv0: string | undefined;
  let cgroup: Cgroup | null = null;
  let runId: string | null = null;
  const sb = o.sandbox;
  if (sb) {
    runId = `step-${randomBytes(6).toString('hex')}`;
    const title = `${sb.hostname} build ${file.split('/').slice(-2).join('/')}`;
    const p = prepareSandbox(sb.host, { id: runId, dataDir: sb.dataDir, mounts: sb.mounts, chdir: o.cwd, env: o.env, hostname: sb.hostname, limits: sb.limits, init: { kind: 'step', argv: [file, ...args] }, title, ...(sb.user ? { user: sb.user } : {}), ...(sb.volume ? { volume: sb.volume } : {}) });
    spawnArgv0 = p.argv0;
    spawnFile = p.file;
    spawnArgs = p.args;
    spawnEnv = p.env;
    spawnCwd = '/';
    cgroup = p.cgroup;
  }
  const cleanup = (): string | undefined => {
    let limit: string | undefined;
    if (cgroup) {
      if (oomKills(cgroup) > 0) limit = 'killed by the kernel: over its memory limit (STARPHLEET_MEMORY)';
      else if (pidsRefused(cgroup) > 0) limit = 'hit its process limit (STARPHLEET_PIDS)';
      removeCgroup(cgroup);
    }
    if (sb && runId) removeRunDir(sb.dataDir, runId);
    return limit;
  };
  return new Promise((resolve, reject) => {
    const child = spawn(spawnFile, spawnArgs, { cwd: spawnCwd, env: spawnEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...(spawnArgv0 !== undefined ? { argv0: spawnArgv0 } : {}) });
    const unrecord = o.recordIn !== undefined && child.pid !== undefined ? recordBuildGroup(o.recordIn, child.pid, runId ?? undefined) : () => {};
    let stdout = '';
    let stopped: 'timeout' | 'aborted' | undefined;
    let setupErrors = 0;
    let otherOutput = false;
    let lastStep: string | undefined;
    let complaint: string | undefined;
    const tail: string[] = [];
    let inComplaint = false;
    let activity: string | undefined;
    let quietTimer: NodeJS.Timeout | undefined;
    let quietSince = Date.now();
    const quietMs = o.quietMs ?? 0;
    const armQuiet = (): void => {
      if (quietMs <= 0 || stopped) return;
      if (quietTimer) clearTimeout(quietTimer);
      quietTimer = setTimeout(() => {
        const now = stepActivity(child.pid);
        const where = lastStep !== undefined ? ` (at ${JSON.stringify(lastStep.replace(/^-+>\s*/, ''))})` : '';
        o.log(`-----> no output for ${Math.round((Date.now() - quietSince) / 1000)} s from ${o.what ?? 'the build step'}${where}: ${now ?? 'nothing of it runs any more'}`);
        armQuiet();
      }, quietMs);
      quietTimer.unref();
    };
    const seen = (l: string): void => {
      if (BWRAP_SETUP_ERROR.test(l)) setupErrors++;
      else otherOutput = true;
      if (/^-+>\s*\S/.test(l)) lastStep = l.trim();
      const bang = /^\s*!\s+(\S.*)$/.exec(l);
      if (bang && !inComplaint) complaint = printable((bang[1] as string).trim(), 300);
      inComplaint = bang !== null;
      if (l.trim() !== '') {
        tail.push(printable(l, 200));
        if (tail.length > 5) tail.shift();
      }
      quietSince = Date.now();
      armQuiet();
    };
    const out = lineSplitter((l) => {
      seen(l);
      if (o.captureStdout) stdout += `${l}\n`;
      else o.log(l);
    });
    const err = lineSplitter((l) => {
      seen(l);
      o.log(l);
    });
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => void signalGroup(child.pid, sig);
    const stop = (why: 'timeout' | 'aborted'): void => {
      if (stopped) return;
      activity = stepActivity(child.pid) ?? undefined;
      stopped = why;
      if (quietTimer) clearTimeout(quietTimer);
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), o.graceMs ?? 5000);
    };
    const timer = setTimeout(() => stop('timeout'), Math.max(0, o.deadline - Date.now()));
    const onAbort = (): void => stop('aborted');
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort);
    child.once('error', (e) => {
      if (quietTimer) clearTimeout(quietTimer);
      unrecord();
      cleanup();
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`cannot run ${file}: ${e.message}`));
    });
    // Whatever the script left running in its group (a daemon holding the pipes open) ends with it.
    child.once('exit', () => killGroup('SIGKILL'));
    armQuiet();
    child.once('close', (code) => {
      clearTimeout(timer);
      if (quietTimer) clearTimeout(quietTimer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      unrecord();
      const limit = cleanup();
      const notStarted = sb !== undefined && sb !== null && (code === 1 || code === 125) && !stopped && !limit && setupErrors > 0 && !otherOutput;
      const told = { ...(lastStep !== undefined ? { lastStep } : {}), ...(activity !== undefined ? { activity } : {}), ...(complaint !== undefined ? { complaint } : {}) };
      resolve({ result: { code, stdout, tail, ...(stopped ? { stopped } : {}), ...(limit ? { limit } : {}), ...told }, notStarted });
    });
  });
}
