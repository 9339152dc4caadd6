import type { AgentContext } from '../context.js';
import type { ServiceController } from './controller.js';
import type { Instance } from '../runtime/instances.js';
import { launch } from './launch.js';
import { backoffMs } from '../limits.js';
import { switchTo } from './switch.js';

/** Crashes further apart than this do not count as "in a row". */
const CRASH_WINDOW_MS = 10 * 60 * 1000;
const CRASH_MAX_DELAY_MS = 60 * 1000;

/**
 * Starts the serving release again (after a crash, or at ship start when its instance is gone), without a rebuild.
 * A failed start counts as one more crash.
 */
export function restartServing(ctx: AgentContext, ctrl: ServiceController, isStopped: () => boolean): Promise<void> {
  return ctrl.serial(async () => {
    const serving = ctrl.serving;
    if (isStopped() || ctrl.removed || !serving || serving.instance !== null || ctrl.serving !== serving) return;
    const id = serving.release.config.id;
    ctrl.status(ctx, 'starting', `starting release ${id} again`);
    const r = await launch(ctx, ctrl.name, serving.release);
    if (isStopped() || ctrl.removed || ctrl.serving !== serving) {
      if (r.ok) await r.instance.stop(ctx.limits.stopGraceMs);
      return;
    }
    if (!r.ok) {
      crashed(ctx, ctrl, `release ${id} did not start again: ${r.reason}`, isStopped);
      return;
    }
    r.instance.setState('serving');
    serving.instance = r.instance;
    ctx.watch(ctrl, r.instance);
    ctx.publishRoutes();
    ctrl.status(ctx, 'serving');
    ctx.log(`${ctrl.name}: release ${id} serves again on port ${r.instance.port}`);
  });
}

/**
 * The serving release keeps crashing: mark the service failed, hold its inputs back (retried only with backoff) and,
 * when an older retained release exists, let that one serve instead.
 */
async function fallBack(ctx: AgentContext, ctrl: ServiceController, why: string, isStopped: () => boolean): Promise<void> {
  const serving = ctrl.serving;
  if (!serving) return;
  const bad = serving.release.config;
  if (serving.inputs) {
    const attempts = (ctrl.failure?.inputs === serving.inputs ? ctrl.failure.attempts : 0) + 1;
    ctrl.failure = { inputs: serving.inputs, attempts, retryAt: Date.now() + backoffMs(attempts, ctx.limits.retryBaseMs, ctx.limits.retryMaxMs), reason: why };
  }
  const older = (await ctx.build.listReleases(ctx.dataDir, ctrl.name).catch(() => [])).filter((r) => r.config.id !== bad.id && r.config.createdAt <= bad.createdAt).reverse();
  await ctrl.serial(async () => {
    for (const release of older) {
      if (isStopped() || ctrl.removed || ctrl.serving !== serving || serving.instance !== null) return;
      const r = await launch(ctx, ctrl.name, release);
      if (!r.ok) continue;
      await switchTo(ctx, ctrl, release, r.instance, null);
      ctrl.crashes = 0;
      const message = `release ${bad.id}: ${why}; previous release ${release.config.id} (${release.config.sha.slice(0, 7)}) serves instead`;
      ctx.log(`${ctrl.name}: ${message}`);
      ctrl.status(ctx, 'failed', message);
      return;
    }
    const message = `release ${bad.id}: ${why}; not restarted until a new deploy or redeploy`;
    ctx.log(`${ctrl.name}: ${message}`);
    ctrl.status(ctx, 'failed', message);
  });
}

/** Counts a crash of the serving release and restarts it with backoff, or gives up after too many in a row. */
export function crashed(ctx: AgentContext, ctrl: ServiceController, why: string, isStopped: () => boolean): void {
  const now = Date.now();
  if (now - ctrl.lastCrashAt > CRASH_WINDOW_MS) ctrl.crashes = 0;
  ctrl.crashes++;
  ctrl.lastCrashAt = now;
  if (ctrl.crashes > ctx.limits.maxCrashes) {
    void fallBack(ctx, ctrl, `${why}; crashed ${ctrl.crashes} times in a row`, isStopped);
    return;
  }
  const delay = backoffMs(ctrl.crashes, ctx.limits.crashBaseMs, CRASH_MAX_DELAY_MS);
  ctx.log(`${ctrl.name}: ${why}; restart ${ctrl.crashes} in ${delay / 1000} s`);
  ctrl.status(ctx, 'starting', `${why}; restarting in ${delay / 1000} s`);
  if (ctrl.restartTimer) clearTimeout(ctrl.restartTimer);
  ctrl.restartTimer = setTimeout(() => {
    ctrl.restartTimer = null;
    void restartServing(ctx, ctrl, isStopped);
  }, delay);
}

/** An exit of a serving instance that nobody asked for: take it off the route (503) and restart it. */
export async function onInstanceExit(ctx: AgentContext, ctrl: ServiceController, instance: Instance, isStopped: () => boolean): Promise<void> {
  if (instance.stopping || ctrl.removed || isStopped() || ctrl.serving?.instance !== instance) return;
  instance.note('exited on its own while serving');
  ctrl.serving.instance = null;
  ctx.publishRoutes();
  await instance.stop(0);
  // The sandbox's cgroup may know why (the kernel killed it over its memory limit): status says so.
  const why = instance.exitReason;
  crashed(ctx, ctrl, `instance of release ${instance.record.release} exited${why ? `: ${why}` : ''}`, isStopped);
}

