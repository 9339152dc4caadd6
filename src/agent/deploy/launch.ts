import type { AgentContext } from '../context.js';
import { waitHealthy } from '../runtime/health.js';
import { freePort, Instance } from '../runtime/instances.js';
import type { Release } from '../types.js';

export type LaunchResult = { readonly ok: true; readonly instance: Instance } | { readonly ok: false; readonly reason: string };

/**
 * Starts an instance of the release on a fresh port and waits for its healthcheck. A failure stops the instance and
 * says why in its own log, so `starphleet logs` shows the reason next to what the app printed.
 */
export async function launch(ctx: AgentContext, service: string, release: Release, signal?: AbortSignal): Promise<LaunchResult> {
  const port = await freePort(ctx.takenPorts());
  let instance: Instance;
  try {
    instance = Instance.start(ctx.db, ctx.runtime, { service, release, port, dataDir: ctx.dataDir });
  } catch (e) {
    return { ok: false, reason: `could not start: ${(e as Error).message}` };
  }
  const cfg = release.config;
  instance.note(`started release ${cfg.id} (${cfg.sha.slice(0, 7)}) with ${ctx.runtime.kind} runtime on port ${port}, pid ${instance.record.pid}: ${cfg.command}`);
  const health = await waitHealthy({
    upstream: instance.backend.upstream,
    path: cfg.healthcheck,
    timeoutMs: cfg.healthcheckTimeoutSeconds * 1000,
    exited: instance.exited,
    ...(signal ? { signal } : {}),
  });
  if (health.ok) {
    instance.note(`healthy: GET ${cfg.healthcheck} answered 200`);
    return { ok: true, instance };
  }
  instance.note(`failed: ${health.reason}`);
  await instance.stop(ctx.limits.stopGraceMs);
  return { ok: false, reason: health.reason };
}
