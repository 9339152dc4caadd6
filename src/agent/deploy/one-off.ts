import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import type { AgentContext } from '../context.js';
import { freePort } from '../runtime/instances.js';
import { instanceEnv, instanceScript, type InstanceSpec } from '../runtime/runtime.js';
import type { Launch } from '../runtime/runtime-types.js';
import { removeCgroup } from '../sandbox/cgroups.js';
import { recordedCgroup, removeRunDir } from '../sandbox/sandbox.js';
import type { LineSink, Release } from '../types.js';
import { killGroup } from '../../util/process-group.js';

/** What to spawn for a one-off, and what to clean up after it (its sandbox's run dir and cgroup). */
export interface PreparedOneOff {
  readonly id: string;
  readonly launch: Launch;
  cleanup(): void;
}

/**
 * A one-off process of a release (release phase, post-deploy script, cron entry, `starphleet run`): the same runtime
 * and sandbox as its instances (release read-only, /var/data, the service's env and limits), no bridge: never routed.
 */
export async function prepareOneOff(ctx: AgentContext, release: Release, kind: string, command: string): Promise<PreparedOneOff> {
  const id = `${release.config.id}-${kind}-${randomBytes(3).toString('hex')}`;
  const secrets = await ctx.secrets.forRelease(release);
  if (!secrets.ok) throw new Error(`cannot run ${kind}: ${secrets.reason}`);
  mkdirSync(`${ctx.dataDir}/data`, { recursive: true });
  const spec: InstanceSpec = { id, release, port: await freePort(ctx.takenPorts()), dataDir: ctx.dataDir, logFile: '/dev/null', process: kind, command, routed: false, oneOff: true, secrets: secrets.env };
  const launch = ctx.runtime.launch(spec, instanceScript(command), instanceEnv(spec));
  const cleanup = (): void => {
    const cg = recordedCgroup(ctx.dataDir, id);
    if (cg) removeCgroup(cg);
    removeRunDir(ctx.dataDir, id);
  };
  return { id, launch, cleanup };
}

export interface OneOffResult {
  readonly code: number | null;
  /** Why it did not finish by itself: 'timeout' or 'aborted'. */
  readonly stopped?: 'timeout' | 'aborted';
}

/** Runs a one-off to its end, every output line to log; killed (its whole group) at the timeout or on abort. */
export async function runOneOff(ctx: AgentContext, release: Release, kind: string, command: string, o: { log: LineSink; timeoutMs: number; signal?: AbortSignal }): Promise<OneOffResult> {
  const p = await prepareOneOff(ctx, release, kind, command);
  return new Promise((resolve, reject) => {
    const child = spawn(p.launch.file, p.launch.args, { cwd: p.launch.cwd, env: p.launch.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], ...(p.launch.argv0 !== undefined ? { argv0: p.launch.argv0 } : {}) });
    let stopped: OneOffResult['stopped'];
    const stop = (why: 'timeout' | 'aborted'): void => {
      stopped ??= why;
      killGroup(child.pid, 'SIGTERM');
      setTimeout(() => killGroup(child.pid, 'SIGKILL'), ctx.limits.stopGraceMs).unref();
    };
    const timer = setTimeout(() => stop('timeout'), o.timeoutMs);
    const onAbort = (): void => stop('aborted');
    o.signal?.addEventListener('abort', onAbort, { once: true });
    for (const stream of [child.stdout, child.stderr]) {
      let tail = '';
      stream.setEncoding('utf8');
      stream.on('data', (d: string) => {
        const parts = (tail + d).split(/\r?\n/);
        tail = parts.pop() ?? '';
        for (const l of parts) o.log(l);
      });
      stream.on('end', () => {
        if (tail !== '') o.log(tail);
      });
    }
    child.once('error', (e) => {
      clearTimeout(timer);
      p.cleanup();
      reject(new Error(`cannot run ${kind}: ${e.message}`));
    });
    child.once('exit', () => killGroup(child.pid, 'SIGKILL'));
    child.once('close', (code) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      p.cleanup();
      resolve({ code, ...(stopped ? { stopped } : {}) });
    });
  });
}
