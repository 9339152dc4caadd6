import { describeCounts } from '../../dataplane/embedded/backend.js';
import { saveAgentService } from '../../state/instances.js';
import type { AgentContext } from '../context.js';
import type { ServiceController, Slot } from './controller.js';
import { describeFormation } from './formation.js';
import { launch } from './launch.js';
import type { Instance } from '../runtime/instances.js';
import type { Release } from '../types.js';

/**
 * The old instance gets no new requests (the route already points elsewhere); its in-flight requests, event streams and
 * WebSockets finish, up to the drain timeout, when those left are closed; then SIGTERM to its process group and SIGKILL
 * after the grace period.
 */
export async function retire(ctx: AgentContext, instance: Instance, why: string): Promise<void> {
  try {
    instance.setState('draining');
  } catch (e) {
    // Its record stays 'serving' (a full disk...): the instance is stopped all the same.
    ctx.log(`${instance.record.service}: instance ${instance.id}: recording its drain failed: ${(e as Error).message}`);
  }
  // The data plane closes its idle kept-alive connections to the instance (they never hold a drain), then waits for
  // requests, event streams and WebSockets; long-lived ones left at the timeout are closed, before the process is.
  let left = '';
  try {
    const d = await ctx.drain(instance.id, ctx.limits.drainTimeoutMs);
    if (!d.drained) left = `: ${describeCounts(d.left)} still open after the ${ctx.limits.drainTimeoutMs / 1000} s drain timeout, closed`;
  } catch (e) {
    left = `: the data plane did not answer the drain (${(e as Error).message})`;
  }
  if (left) ctx.log(`${instance.record.service}: instance ${instance.id}${left}`);
  instance.note(`stopping (${why})${left}`);
  await instance.stop(ctx.limits.stopGraceMs);
}

/**
 * Starts every slot of a release's formation at once (each web instance health-checked, each other one alive for
 * STARPHLEET_WORKER_UP); if any fails, the ones started are stopped and the first reason is returned.
 */
export async function startSlots(ctx: AgentContext, service: string, release: Release, slots: readonly Slot[], signal?: AbortSignal): Promise<{ ok: true } | { ok: false; reason: string }> {
  const results = await Promise.all(slots.map(async (slot) => ({ slot, r: await launch(ctx, service, release, signal, slot.process, slot.index) })));
  const bad = results.find((x) => !x.r.ok);
  if (!bad) {
    for (const { slot, r } of results) if (r.ok) slot.instance = r.instance;
    return { ok: true };
  }
  await Promise.all(results.map(({ r }) => (r.ok ? r.instance.stop(ctx.limits.stopGraceMs) : undefined)));
  return { ok: false, reason: bad.r.ok ? '' : bad.r.reason };
}

/**
 * The new release's healthy instances take the route in one swap of the route table; the release becomes `current`;
 * every instance it replaces (each type, each scaled one) drains and stops; old releases beyond the kept number are
 * pruned. Call under the controller's lock.
 */
export async function switchTo(ctx: AgentContext, ctrl: ServiceController, release: Release, slots: Slot[], inputs: string | null): Promise<void> {
  const old = (ctrl.serving?.slots ?? []).flatMap((s) => (s.instance ? [s.instance] : []));
  ctrl.clearRestarts();
  const fresh = new Set<Instance>();
  for (const s of slots) {
    if (!s.instance) continue;
    fresh.add(s.instance);
    s.instance.setState('serving');
  }
  ctrl.serving = { release, slots, inputs };
  for (const i of fresh) ctx.watch(ctrl, i);
  const routed = ctx.publishRoutes();
  // The route moved: whatever recording it fails on (a full disk, a locked db), the old instances are retired, or
  // they would run on unrouted and unknown to every later switch. The recording's failure is said, then rethrown.
  let recorded: Error | null = null;
  try {
    await ctx.build.markServing(ctx.dataDir, ctrl.name, release.config.id);
    saveAgentService(ctx.db, { name: ctrl.name, mount: ctrl.mount, published: ctrl.published, release: release.config.id, inputs });
  } catch (e) {
    recorded = e as Error;
    ctx.log(`${ctrl.name}: release ${release.config.id} serves, but recording it failed: ${recorded.message}`);
  }
  // Serving means the data plane routes it: a status read (or a test, or a canary's peers) right after sees it served.
  await routed;
  try {
    ctrl.status(ctx, 'serving', recorded ? `serves, but recording the switch failed: ${recorded.message}` : '');
  } catch (e) {
    ctx.log(`${ctrl.name}: writing its status failed: ${(e as Error).message}`);
  }
  ctx.log(`${ctrl.name}: release ${release.config.id} (${release.config.sha.slice(0, 7)}) serves (${describeFormation(slots)})`);
  await Promise.all(old.filter((i) => !fresh.has(i)).map((i) => retire(ctx, i, `replaced by release ${release.config.id}`)));
  if (recorded) throw recorded;
  try {
    await ctx.build.pruneReleases(ctx.dataDir, ctrl.name, ctx.limits.keepReleases);
  } catch (e) {
    ctx.log(`${ctrl.name}: pruning old releases failed: ${(e as Error).message}`);
  }
}
