import type { AgentContext } from '../context.js';
import type { ServiceController, Slot } from './controller.js';
import { allRunning } from './controller.js';
import type { Instance } from '../runtime/instances.js';
import type { Release } from '../types.js';
import { formationOf, slotsOf } from './formation.js';
import { launch } from './launch.js';
import { backoffMs } from '../limits.js';
import { startSlots, switchTo } from './switch.js';
import { exitReport } from './exit-report.js';

/** Crashes further apart than this do not count as "in a row". */
const CRASH_WINDOW_MS = 10 * 60 * 1000;
const CRASH_MAX_DELAY_MS = 60 * 1000;

/**
 * Starts one slot of the serving release again (after a crash, or at ship start when its instance is gone), without a
 * rebuild. A failed start counts as one more crash of that slot.
 */
export function restartSlot(ctx: AgentContext, ctrl: ServiceController, slot: Slot, isStopped: () => boolean): Promise<void> {
  return ctrl.serial(async () => {
    const serving = ctrl.serving;
    if (isStopped() || ctrl.removed || !serving || slot.instance !== null || !serving.slots.includes(slot)) return;
    const id = serving.release.config.id;
    const name = `${slot.process}.${slot.index}`;
    ctrl.status(ctx, 'starting', `starting ${name} of release ${id} again`);
    const r = await launch(ctx, ctrl.name, serving.release, undefined, slot.process, slot.index);
    if (isStopped() || ctrl.removed || ctrl.serving !== serving) {
      if (r.ok) await r.instance.stop(ctx.limits.stopGraceMs);
      return;
    }
    if (!r.ok) {
      crashed(ctx, ctrl, slot, `${name} of release ${id} did not start again: ${r.reason}`, isStopped);
      return;
    }
    r.instance.setState('serving');
    slot.instance = r.instance;
    ctx.watch(ctrl, r.instance);
    await ctx.publishRoutes();
    if (allRunning(serving)) ctrl.status(ctx, 'serving');
    ctx.log(`${ctrl.name}: ${name} of release ${id} runs again on port ${r.instance.port}`);
    ctx.emit({ kind: 'instance-restarted', service: ctrl.name, release: id, process: name });
  });
}

/** Every empty slot of the serving release started again (ship start: instances that are gone). */
export function restartServing(ctx: AgentContext, ctrl: ServiceController, isStopped: () => boolean): Promise<void> {
  return Promise.all((ctrl.serving?.slots ?? []).filter((s) => s.instance === null).map((s) => restartSlot(ctx, ctrl, s, isStopped))).then(() => undefined);
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
    ctrl.setFailure(ctx, { inputs: serving.inputs, attempts, retryAt: Date.now() + backoffMs(attempts, ctx.limits.retryBaseMs, ctx.limits.retryMaxMs), reason: why });
  }
  ctrl.crashLooped.add(bad.id);
  // A retry of the crashing inputs that crashes again must not fall back to the first build of those inputs.
  const sameInputs = (r: Release): boolean => serving.inputs !== null && r.config.inputs === serving.inputs;
  const older = (await ctx.build.listReleases(ctx.dataDir, ctrl.name).catch(() => []))
    .filter((r) => !ctrl.crashLooped.has(r.config.id) && !sameInputs(r) && r.config.createdAt <= bad.createdAt)
    .reverse();
  await ctrl.serial(async () => {
    for (const release of older) {
      if (isStopped() || ctrl.removed || ctrl.serving !== serving) return;
      const slots = slotsOf(formationOf(release, ctrl.desired?.orders.scale));
      const r = await startSlots(ctx, ctrl.name, release, slots);
      if (!r.ok) continue;
      await switchTo(ctx, ctrl, release, slots, release.config.inputs ?? null);
      const message = `release ${bad.id}: ${why}; previous release ${release.config.id} (${release.config.sha.slice(0, 7)}) serves instead`;
      ctx.log(`${ctrl.name}: ${message}`);
      ctrl.status(ctx, 'failed', message);
      ctx.emit({ kind: 'crash-loop', service: ctrl.name, release: bad.id, reason: why, fallback: release.config.id });
      return;
    }
    const message = `release ${bad.id}: ${why}; not restarted until a new deploy or redeploy`;
    ctx.log(`${ctrl.name}: ${message}`);
    ctrl.status(ctx, 'failed', message);
    ctx.emit({ kind: 'crash-loop', service: ctrl.name, release: bad.id, reason: why, fallback: null });
  });
}

/** Counts a crash of one slot and restarts it with backoff, or gives up on the release after too many in a row. */
export function crashed(ctx: AgentContext, ctrl: ServiceController, slot: Slot, why: string, isStopped: () => boolean): void {
  const now = Date.now();
  if (now - slot.lastCrashAt > CRASH_WINDOW_MS) slot.crashes = 0;
  slot.crashes++;
  slot.lastCrashAt = now;
  if (slot.crashes > ctx.limits.maxCrashes) {
    void fallBack(ctx, ctrl, `${why}; crashed ${slot.crashes} times in a row`, isStopped);
    return;
  }
  const delay = backoffMs(slot.crashes, ctx.limits.crashBaseMs, CRASH_MAX_DELAY_MS);
  ctx.log(`${ctrl.name}: ${why}; restart ${slot.crashes} in ${delay / 1000} s`);
  // A worker restarting does not take the web part down: status says starting only while some slot is empty.
  ctrl.status(ctx, 'starting', `${why}; restarting in ${delay / 1000} s`);
  if (slot.restartTimer) clearTimeout(slot.restartTimer);
  slot.restartTimer = setTimeout(() => {
    slot.restartTimer = null;
    void restartSlot(ctx, ctrl, slot, isStopped);
  }, delay);
}

/** An exit of a serving instance that nobody asked for: take it off the route and restart its slot. */
export async function onInstanceExit(ctx: AgentContext, ctrl: ServiceController, instance: Instance, isStopped: () => boolean): Promise<void> {
  if (instance.stopping || ctrl.removed || isStopped()) return;
  const slot = ctrl.serving?.slots.find((s) => s.instance === instance);
  if (!slot) return;
  const name = `${slot.process}.${slot.index}`;
  instance.note(`${name} exited on its own while serving`);
  slot.instance = null;
  void ctx.publishRoutes();
  await instance.stop(0);
  // Its exit code or signal, the cgroup's word (the kernel killed it over its memory limit) and its last lines: status says so.
  crashed(ctx, ctrl, slot, `${name} of release ${instance.record.release} exited${exitReport(instance.exitStatus, instance.exitReason, instance.logFile, 0)}`, isStopped);
}
