import type { DesiredState } from '../../headquarters/types.js';
import { listAgentServices, listInstances } from '../../state/instances.js';
import type { AgentContext } from '../context.js';
import { Instance, killRecorded } from '../runtime/instances.js';
import { findStrayInstances } from '../runtime/strays.js';
import { allRunning, newSlot, ServiceController, type Slot } from './controller.js';
import { restartServing } from './crash.js';
import { formationOf, slotsOf } from './formation.js';

export interface Adoption {
  /** Filled here: one controller per service the state db knows. */
  readonly ctrls: Map<string, ServiceController>;
  /** The desired state, if HQ already gave one (a hand-over); null: scales are not known yet. */
  readonly desired: DesiredState | null;
  /** Leftovers being drained and stopped in the background (the agent's pause waits for them). */
  readonly removals: Set<Promise<void>>;
  isStopped(): boolean;
}

/** One more place of a process type (web.3 after web.1 and web.2), for an instance adopted before the scale is known. */
function extraSlot(slots: Slot[], process: string): Slot {
  const slot = newSlot(process, Math.max(0, ...slots.filter((s) => s.process === process).map((s) => s.index)) + 1);
  slots.push(slot);
  return slot;
}

/**
 * At start: adopts the instances an earlier ship process left running (if really ours) and restarts serving releases
 * whose instance is gone, without a rebuild; each service is routed as soon as it is known. Then the recorded
 * instances nobody adopted are drained and stopped, and those the state db never knew are stopped.
 */
export async function adoptAtStart(ctx: AgentContext, a: Adoption): Promise<void> {
  const { db, dataDir, log, limits } = ctx;
  const records = listInstances(db);
  const adopted = new Set<string>();
  for (const svc of listAgentServices(db)) {
    const ctrl = new ServiceController(svc.name, svc.mount, svc.published);
    a.ctrls.set(svc.name, ctrl);
    const release = await ctx.build.servingRelease(dataDir, svc.name).catch(() => null);
    if (!release) {
      void ctx.publishRoutes();
      continue;
    }
    const scale = a.desired?.services.find((d) => d.name === svc.name)?.orders.scale;
    const slots = slotsOf(formationOf(release, scale));
    for (const rec of records) {
      if (rec.service !== svc.name || rec.release !== release.config.id || rec.state !== 'serving') continue;
      // Before the first desired state the scale is not known: every recorded instance of the serving release gets a
      // place (one more web.N), or a restarted ship would stop instances of a `scale web=2` as leftovers.
      const slot = slots.find((s) => s.process === rec.process && s.instance === null) ?? (scale === undefined ? extraSlot(slots, rec.process) : undefined);
      const instance = slot ? Instance.adopt(db, dataDir, rec, slot.index) : null;
      if (!slot || !instance) continue;
      slot.instance = instance;
      adopted.add(instance.id);
      ctx.watch(ctrl, instance);
      log(`${svc.name}: adopted instance ${instance.id} (${slot.process}.${slot.index}) of release ${release.config.id} (pid ${instance.record.pid}, port ${instance.port})`);
    }
    const serving = { release, slots, inputs: svc.release === release.config.id ? svc.inputs : null };
    // A rollout that was splitting the service: its stable side's instances are adopted too (traffic/rollouts.ts),
    // before the controller serves anything: a table made meanwhile must not route the new side alone.
    await ctx.traffic.rollouts.adopt(ctrl, serving, records, adopted);
    ctrl.serving = serving;
    // The front door is open already: each service is routed as soon as it is known, not after all of them, and
    // said serving once routed.
    const routed = ctx.publishRoutes();
    if (allRunning(ctrl.serving)) {
      await routed;
      ctrl.status(ctx, 'serving');
    } else {
      log(`${svc.name}: instances of release ${release.config.id} are gone: starting them again without a rebuild`);
      void restartServing(ctx, ctrl, a.isStopped);
    }
  }
  for (const rec of records) {
    if (adopted.has(rec.id)) continue;
    log(`${rec.service}: stopping leftover instance ${rec.id} (${rec.state}, pid ${rec.pid})`);
    if (rec.state !== 'serving' && rec.state !== 'draining') {
      await killRecorded(db, rec, limits.stopGraceMs, dataDir);
      continue;
    }
    // The data plane may still route to it: a ship killed mid-switch left the new release's instances routed and
    // recorded serving while `current` still named the old release, which is adopted above. Drained like any
    // replaced instance (the table without it went out above), in the background: the ship does not wait for it.
    const removal = ctx
      .drain(rec.id, limits.drainTimeoutMs)
      .catch(() => undefined)
      .then(() => killRecorded(db, rec, limits.stopGraceMs, dataDir))
      .catch((e: unknown) => log(`${rec.service}: stopping leftover instance ${rec.id} failed: ${(e as Error).message}`))
      .finally(() => a.removals.delete(removal));
    a.removals.add(removal);
  }
  // Instances nobody recorded (a ship killed between spawn and record, a db restored from a backup) are found by
  // their launcher's mark: nothing routes to them and nothing would ever stop them.
  for (const rec of findStrayInstances(dataDir, new Set(records.map((r) => r.id)))) {
    log(`stopping instance ${rec.id} (pid ${rec.pid}): the state database does not know it`);
    await killRecorded(db, rec, limits.stopGraceMs, dataDir);
  }
}
