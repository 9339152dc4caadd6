import { clearPin, finishDeployRecord, getPin, listDeployRecords, setPin, startDeployRecord } from '../../state/deploys.js';
import type { AgentContext } from '../context.js';
import type { Release } from '../types.js';
import type { ServiceController } from './controller.js';
import { describeFormation, formationOf, slotsOf } from './formation.js';
import { startSlots, switchTo } from './switch.js';

export interface RollbackResult {
  readonly ok: boolean;
  readonly message: string;
}

/** The release to go back to: the named one, or the newest retained one that served before the one serving now. */
async function target(ctx: AgentContext, ctrl: ServiceController, wanted: string | undefined): Promise<Release | string> {
  const releases = await ctx.build.listReleases(ctx.dataDir, ctrl.name);
  const current = ctrl.serving?.release.config.id;
  if (wanted !== undefined) {
    const r = releases.find((x) => x.config.id === wanted);
    if (!r) return `no retained release ${wanted} of ${ctrl.name} (see starphleet releases ${ctrl.name})`;
    if (r.config.id === current) return `release ${wanted} serves already`;
    return r;
  }
  const byId = new Map(releases.map((r) => [r.config.id, r]));
  // A release that failed its health check is retained too: go back to one that really served.
  for (const d of listDeployRecords(ctx.db, ctrl.name)) {
    if (d.result !== 'serving' || d.release === null || d.release === current) continue;
    const r = byId.get(d.release);
    if (r) return r;
  }
  const cur = releases.find((r) => r.config.id === current);
  const older = releases.filter((r) => r.config.id !== current && (!cur || r.config.createdAt <= cur.config.createdAt));
  return older[older.length - 1] ?? `${ctrl.name} has no earlier retained release to roll back to`;
}

/**
 * Serves a retained release again without building (every process of it started and health-checked, then the usual
 * drained switch) and pins the service there: the pin holds while the ref stays at `refSha`.
 */
export async function rollback(ctx: AgentContext, ctrl: ServiceController, wanted: string | undefined, refSha: string | null, by: string): Promise<RollbackResult> {
  if (!ctrl.serving) return { ok: false, message: `${ctrl.name} serves nothing yet` };
  const t0 = Date.now();
  const t = await target(ctx, ctrl, wanted);
  if (typeof t === 'string') return { ok: false, message: t };
  const id = t.config.id;
  const record = startDeployRecord(ctx.db, { service: ctrl.name, sha: t.config.sha, trigger: `rollback by ${by}`, release: id });
  const pinSha = refSha ?? ctrl.serving.release.config.sha;
  // Pinned first, so a pulse meanwhile does not deploy the ref again; a failed rollback takes the pin back.
  const before = getPin(ctx.db, ctrl.name);
  setPin(ctx.db, { service: ctrl.name, release: id, sha: pinSha, by });
  return ctrl.serial(async () => {
    const slots = slotsOf(formationOf(t, ctrl.desired?.orders.scale));
    ctrl.status(ctx, 'starting', `rolling back to release ${id}`);
    const r = await startSlots(ctx, ctrl.name, t, slots);
    if (!r.ok) {
      if (before) setPin(ctx.db, before);
      else clearPin(ctx.db, ctrl.name);
      finishDeployRecord(ctx.db, record, { result: 'failed', reason: r.reason });
      ctx.emit({ kind: 'rollback-finished', service: ctrl.name, release: id, sha: t.config.sha, by, ok: false, reason: r.reason, seconds: (Date.now() - t0) / 1000 });
      ctrl.status(ctx, 'serving', `rollback to release ${id} failed: ${r.reason}`);
      return { ok: false, message: `rollback to release ${id} failed: ${r.reason}; the release that served keeps serving` };
    }
    // What serves now is what that release was built from: a later unpin back to the ref's inputs reuses its build.
    await switchTo(ctx, ctrl, t, slots, t.config.inputs ?? null);
    finishDeployRecord(ctx.db, record, { result: 'serving' });
    ctx.emit({ kind: 'rollback-finished', service: ctrl.name, release: id, sha: t.config.sha, by, ok: true, reason: '', seconds: (Date.now() - t0) / 1000 });
    const message = `pinned to release ${id} (${t.config.sha.slice(0, 7)}) by rollback; a new commit on its ref or starphleet unpin ${ctrl.name} ends the pin`;
    ctrl.status(ctx, 'serving', message);
    ctx.log(`${ctrl.name}: rollback by ${by}: release ${id} serves (${describeFormation(slots)}); ${message}`);
    const took = ((Date.now() - t0) / 1000).toFixed(1);
    return { ok: true, message: `${ctrl.name}: release ${id} (${t.config.sha.slice(0, 7)}) serves (switched in ${took} s); ${message}` };
  });
}
