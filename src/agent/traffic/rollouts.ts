import type { WireMatch } from '../../dataplane/protocol/wire-traffic.js';
import { saveAgentService, type InstanceRecord } from '../../state/instances.js';
import { setPin } from '../../state/deploys.js';
import { webInstances, type ServiceController, type Serving, type Slot } from '../deploy/controller.js';
import { formationOf, slotsOf } from '../deploy/formation.js';
import { retire, switchTo } from '../deploy/switch.js';
import { Instance } from '../runtime/instances.js';
import { waitHealthy } from '../runtime/health.js';
import type { Release } from '../types.js';
import { setBy, trafficOf, updateTraffic, without } from './settings.js';
import type { TrafficHost, TrafficResult } from './traffic.js';

/** `starphleet rollout <service> --percent N [--header X:V]... [--cookie n=v]...` */
export interface RolloutAsk {
  readonly percent: number;
  readonly headers: readonly WireMatch[];
  readonly cookies: readonly WireMatch[];
}

/** How often the new side is checked, and how many failed checks in a row abort the rollout. */
const CHECK_EVERY_MS = 2000;
const CHECK_TIMEOUT_MS = 3000;
const FAILURES_TO_ABORT = 2;

/**
 * Percentage rollouts inside one ship. Armed by the admiral, a rollout changes the next switch of the service: the
 * new release serves (its instances health-checked, `current`, what a restart adopts first) but only the chosen share
 * of clients reaches it; the release that served before stays up as the stable side and serves the rest. A later
 * deploy during the rollout replaces the new side only. `promote` drains and stops the stable side; `abort` (or the
 * new side failing its checks) gives the route back to the stable side, pins the service there as a rollback does,
 * and drains and stops the new one. The old instances stop only then.
 */
export class Rollouts {
  private readonly stable = new Map<string, Serving>();
  private readonly monitors = new Map<string, NodeJS.Timeout>();

  constructor(private readonly host: TrafficHost) {}

  stableOf(name: string): Serving | null {
    return this.stable.get(name) ?? null;
  }

  async set(name: string, ask: RolloutAsk, by: string): Promise<TrafficResult> {
    const stable = this.stable.get(name);
    updateTraffic(this.host.ctx.db, name, (t) => ({ ...t, rollout: { ...ask, ...setBy(by), stable: stable?.release.config.id ?? null } }));
    await this.host.publish();
    this.host.ctx.log(`${name}: rollout ${ask.percent}% set by ${by}`);
    const ctrl = this.host.ctrl(name);
    if (stable && ctrl?.serving) return { ok: true, message: `${name}: ${ask.percent}% of clients (and the listed ones) go to release ${ctrl.serving.release.config.id}; release ${stable.release.config.id} serves the rest` };
    return { ok: true, message: `${name}: rollout armed: the next deploy keeps release ${ctrl?.serving?.release.config.id ?? '(none yet)'} serving and sends ${ask.percent}% of clients to the new one` };
  }

  /** The deploy's switch (deploy.ts, under the controller's lock): a plain switch, unless a rollout is armed or running. */
  async switchTo(ctrl: ServiceController, release: Release, slots: Slot[], inputs: string | null): Promise<void> {
    const { ctx } = this.host;
    const r = trafficOf(ctx.db, ctrl.name).rollout;
    const prev = ctrl.serving;
    if (r && prev && !this.stable.has(ctrl.name) && prev.release.config.id !== release.config.id && webInstances(prev).length > 0) {
      // The release serving now becomes the stable side: switchTo below then replaces nothing.
      this.stable.set(ctrl.name, prev);
      ctrl.serving = null;
      updateTraffic(ctx.db, ctrl.name, (t) => (t.rollout ? { ...t, rollout: { ...t.rollout, stable: prev.release.config.id } } : t));
    }
    await switchTo(ctx, ctrl, release, slots, inputs);
    const stable = this.stable.get(ctrl.name);
    if (!stable) return;
    ctx.log(`${ctrl.name}: rollout: release ${release.config.id} gets ${r?.percent ?? 0}% of clients, release ${stable.release.config.id} the rest`);
    this.watch(ctrl);
  }

  async promote(name: string, by: string): Promise<TrafficResult> {
    const ctrl = this.host.ctrl(name);
    if (!ctrl) return { ok: false, message: `no service named ${name}` };
    return ctrl.serial(async () => {
      const stable = this.stable.get(name);
      if (!trafficOf(this.host.ctx.db, name).rollout) return { ok: false, message: `${name} has no rollout` };
      this.stop(name);
      updateTraffic(this.host.ctx.db, name, (t) => without(t, 'rollout'));
      await this.host.publish();
      if (!stable) return { ok: true, message: `${name}: the armed rollout is off: the next deploy switches as usual` };
      this.stable.delete(name);
      const id = ctrl.serving?.release.config.id ?? '?';
      this.host.ctx.log(`${name}: rollout promoted by ${by}: release ${id} serves every client; release ${stable.release.config.id} drains`);
      await Promise.all(webAndOthers(stable).map((i) => retire(this.host.ctx, i, `rollout of release ${id} promoted`)));
      return { ok: true, message: `${name}: release ${id} serves every client; release ${stable.release.config.id} drained and stopped` };
    });
  }

  /** Back to the stable side: it serves every client again, pinned; the new side drains and stops. */
  async abort(name: string, by: string, why: string): Promise<TrafficResult> {
    const ctrl = this.host.ctrl(name);
    if (!ctrl) return { ok: false, message: `no service named ${name}` };
    return ctrl.serial(async () => {
      const { ctx } = this.host;
      const stable = this.stable.get(name);
      if (!trafficOf(ctx.db, name).rollout) return { ok: false, message: `${name} has no rollout` };
      this.stop(name);
      if (!stable || !ctrl.serving) {
        updateTraffic(ctx.db, name, (t) => without(t, 'rollout'));
        await this.host.publish();
        return { ok: true, message: `${name}: the armed rollout is off: the next deploy switches as usual` };
      }
      const bad = ctrl.serving;
      const badId = bad.release.config.id;
      const back = stable.release;
      ctrl.clearRestarts();
      ctrl.serving = stable;
      this.stable.delete(name);
      updateTraffic(ctx.db, name, (t) => without(t, 'rollout'));
      // Held on the stable release while the ref stays at the new release's sha, as a rollback holds.
      setPin(ctx.db, { service: name, release: back.config.id, sha: bad.release.config.sha, by: `rollout abort (${why})` });
      await this.host.publish();
      try {
        await ctx.build.markServing(ctx.dataDir, name, back.config.id);
        saveAgentService(ctx.db, { name, mount: ctrl.mount, published: ctrl.published, release: back.config.id, inputs: stable.inputs });
      } catch (e) {
        ctx.log(`${name}: recording the abort failed: ${(e as Error).message}`);
      }
      const message = `rollout of release ${badId} ${why}: release ${back.config.id} (${back.config.sha.slice(0, 7)}) serves every client, pinned until the ref moves or starphleet unpin ${name}`;
      ctx.log(`${name}: ${message}`);
      ctrl.status(ctx, 'serving', message);
      ctx.emit({ kind: 'rollback-finished', service: name, release: back.config.id, sha: back.config.sha, by, ok: true, reason: message, seconds: 0 });
      await Promise.all(webAndOthers(bad).map((i) => retire(ctx, i, `rollout of release ${badId} aborted`)));
      return { ok: true, message: `${name}: ${message}` };
    });
  }

  /** The new side checked every 2 s: an instance gone or a health check failing twice in a row aborts the rollout. */
  private watch(ctrl: ServiceController): void {
    this.stop(ctrl.name);
    let failures = 0;
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      void this.check(ctrl)
        .then((why) => {
          if (why === 'stable-gone') return this.promote(ctrl.name, 'the ship (its stable side exited)').then(() => undefined);
          failures = why === null ? 0 : failures + 1;
          if (why !== null && (failures >= FAILURES_TO_ABORT || why.startsWith('!'))) return this.abort(ctrl.name, 'the ship', `aborted by itself: ${why.replace(/^!/, '')}`).then(() => undefined);
          return undefined;
        })
        .catch((e: unknown) => this.host.ctx.log(`${ctrl.name}: checking the rollout failed: ${(e as Error).message}`))
        .finally(() => (busy = false));
    }, CHECK_EVERY_MS);
    timer.unref();
    this.monitors.set(ctrl.name, timer);
  }

  /** Null when the new side is well; why not otherwise (`!` first: at once, without a second check). */
  private async check(ctrl: ServiceController): Promise<string | null> {
    const s = ctrl.serving;
    if (!s || !this.stable.has(ctrl.name)) {
      this.stop(ctrl.name);
      return null;
    }
    // The stable side is not restarted by the crash handler (it is not the serving release): without it, the new one
    // serves everyone.
    if (webInstances(this.stable.get(ctrl.name) ?? null).some((i) => i.exitStatus !== null)) return 'stable-gone';
    const gone = s.slots.find((x) => x.process === 'web' && x.instance === null);
    if (gone) return `!web.${gone.index} of release ${s.release.config.id} exited`;
    for (const i of webInstances(s)) {
      const h = await waitHealthy({ upstream: i.backend.upstream, path: s.release.config.healthcheck, timeoutMs: CHECK_TIMEOUT_MS, exited: i.exited, intervalMs: 500 });
      if (!h.ok) return `release ${s.release.config.id}: ${h.reason}`;
    }
    return null;
  }

  private stop(name: string): void {
    const t = this.monitors.get(name);
    if (t) clearInterval(t);
    this.monitors.delete(name);
  }

  /**
   * Ship start: the stable side of a rollout that was running (its release in the db) adopted with its instances,
   * which are then no leftovers. Without any, the rollout ends: the new release serves everyone. `serving` is what
   * the controller will serve once this returns: the caller sets ctrl.serving after, so no route table made while
   * the release list is read routes the new side alone (a restarted ship's plane got such a table, and a client
   * holding the stable side's cookie was answered by the new side).
   */
  async adopt(ctrl: ServiceController, serving: Serving, records: readonly InstanceRecord[], adopted: Set<string>): Promise<void> {
    const { ctx } = this.host;
    const id = trafficOf(ctx.db, ctrl.name).rollout?.stable;
    if (!id || serving.release.config.id === id) return;
    const release = (await ctx.build.listReleases(ctx.dataDir, ctrl.name).catch(() => [])).find((r) => r.config.id === id);
    const slots = release ? slotsOf(formationOf(release, ctrl.desired?.orders.scale)) : [];
    for (const rec of records) {
      if (!release || rec.service !== ctrl.name || rec.release !== id || rec.state !== 'serving' || adopted.has(rec.id)) continue;
      const slot = slots.find((s) => s.process === rec.process && s.instance === null);
      const instance = slot ? Instance.adopt(ctx.db, ctx.dataDir, rec, slot.index) : null;
      if (!slot || !instance) continue;
      slot.instance = instance;
      adopted.add(instance.id);
    }
    if (!release || !slots.some((s) => s.process === 'web' && s.instance !== null)) {
      ctx.log(`${ctrl.name}: the stable side of its rollout (release ${id}) is gone: release ${serving.release.config.id} serves every client`);
      updateTraffic(ctx.db, ctrl.name, (t) => without(t, 'rollout'));
      return;
    }
    this.stable.set(ctrl.name, { release, slots, inputs: release.config.inputs ?? null });
    ctx.log(`${ctrl.name}: rollout goes on: release ${release.config.id} adopted as its stable side`);
    this.watch(ctrl);
  }

  close(): void {
    for (const name of [...this.monitors.keys()]) this.stop(name);
  }
}

/** Every instance of a serving release (web and the rest): what a promote or abort stops. */
function webAndOthers(s: Serving): Instance[] {
  return s.slots.flatMap((x) => (x.instance ? [x.instance] : []));
}
