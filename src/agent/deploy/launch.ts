import type { AgentContext } from '../context.js';
import { freePort, Instance, instanceLogFile } from '../runtime/instances.js';
import { exitReport, logSize } from './exit-report.js';
import type { Release } from '../types.js';
import { startupChecks, waitAlive, waitStartup } from './startup-checks.js';
import { serviceWorkerUpSeconds } from '../../settings/agent-settings.js';

export type LaunchResult = { readonly ok: true; readonly instance: Instance } | { readonly ok: false; readonly reason: string };

/** The release's command of a process type ('' when it has none); releases from before process types know only web. */
export function processCommand(release: Release, process: string): string {
  const cfg = release.config;
  return cfg.processes?.[process] ?? (process === 'web' ? cfg.command : '');
}

/** STARPHLEET_WORKER_UP of the service's env, else the ship's. */
function workerUpMs(ctx: AgentContext, release: Release): number {
  const s = serviceWorkerUpSeconds(release.config.env);
  return s === undefined ? ctx.limits.workerUpMs : s * 1000;
}

/**
 * Starts an instance of one process type of the release (web by default) on a fresh port and waits until it is up:
 * web passes its startup checks (app.json's, or the healthcheck path), any other type stays alive for
 * STARPHLEET_WORKER_UP seconds. A failure stops the instance and says why in its own log, so `starphleet logs` shows
 * the reason next to what the app printed.
 */
export async function launch(ctx: AgentContext, service: string, release: Release, signal?: AbortSignal, process = 'web', index = 1): Promise<LaunchResult> {
  const command = processCommand(release, process);
  if (command.trim() === '') return { ok: false, reason: `the release has no ${process} process (Procfile)` };
  // Opened for this start from the sealed copies the release recorded: a restart months later gets the same values.
  const secrets = await ctx.secrets.forRelease(release);
  if (!secrets.ok) return { ok: false, reason: `could not start ${process}.${index}: ${secrets.reason}` };
  const port = await freePort(ctx.takenPorts());
  // What the app prints from here on is this start's: a start that dies says its last lines (see exit-report.ts).
  const from = logSize(instanceLogFile(ctx.dataDir, service, release.config.id, `${process}.${index}`));
  let instance: Instance;
  try {
    instance = Instance.start(ctx.db, ctx.runtime, { service, release, port, dataDir: ctx.dataDir, process, index, command, secrets: secrets.env });
  } catch (e) {
    return { ok: false, reason: `could not start ${process}.${index}: ${(e as Error).message}` };
  }
  const cfg = release.config;
  const name = `${process}.${index}`;
  instance.note(`started ${name} of release ${cfg.id} (${cfg.sha.slice(0, 7)}) with ${ctx.runtime.kind} runtime on port ${port}, pid ${instance.record.pid}: ${command}`);
  let gone = false;
  void instance.exited.then(() => (gone = true));
  const sig = signal ? { signal } : {};
  const up =
    process === 'web'
      ? await waitStartup({ upstream: instance.backend.upstream, checks: startupChecks(cfg), timeoutMs: cfg.healthcheckTimeoutSeconds * 1000, exited: instance.exited, ...sig })
      : await waitAlive(instance.exited, workerUpMs(ctx, release), signal);
  if (up.ok) {
    instance.note(process === 'web' ? `healthy: ${name} passed its health checks` : `up: ${name} stayed alive ${workerUpMs(ctx, release) / 1000} s`);
    return { ok: true, instance };
  }
  const reason = gone ? `${up.reason}${exitReport(instance.exitStatus, instance.exitReason, instance.logFile, from)}` : up.reason;
  instance.note(`failed: ${reason} (${name})`);
  await instance.stop(ctx.limits.stopGraceMs);
  return { ok: false, reason: process === 'web' ? reason : `${name}: ${reason}` };
}
