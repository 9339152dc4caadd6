import type { OpenCounts } from '../../dataplane/embedded/backend.js';
import type { WireInstance } from '../../dataplane/protocol/wire.js';
import type { WireTraffic } from '../../dataplane/protocol/wire-traffic.js';
import type { Orders } from '../../headquarters/types.js';
import { setKv } from '../../state/hq.js';
import { pollInterval } from '../../util/poll-interval.js';
import type { AgentContext } from '../context.js';
import { webInstances, type ServiceController, type Serving } from '../deploy/controller.js';
import type { Release } from '../types.js';
import { maintenanceOf, routeOf } from './route-of.js';
import { Rollouts, type RolloutAsk } from './rollouts.js';
import { setBy, trafficLimits, trafficOf, updateTraffic, without, type MaintenanceSetting, type TrafficLimits } from './settings.js';

/** What an admiral's traffic command answers: done or not, and what happened, in a line. */
export interface TrafficResult {
  readonly ok: boolean;
  readonly message: string;
}

/** What the agent lends the traffic side: its services, its route publishing (awaited) and the data plane's counts. */
export interface TrafficHost {
  readonly ctx: AgentContext;
  ctrl(name: string): ServiceController | undefined;
  orders(name: string): Orders | undefined;
  /** Resolves once the data plane has the table built now. */
  publish(): Promise<void>;
  counts(instance: string): Promise<OpenCounts | null>;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The ship's side of traffic under the admiral's hand (docs/traffic.md): what each service's route carries
 * (maintenance, pause, rollout, kept in the state db so a restarted ship sends the same table), the commands that
 * change it, and the deploy's part: a release phase under pause, a switch that keeps the old release for a rollout.
 */
export class Traffic {
  readonly limits: TrafficLimits;
  readonly rollouts: Rollouts;
  /** HQ's maintenance switches as the last table had them, for the status (which has no desired state of its own). */
  private hqMaintenance = '';

  constructor(private readonly host: TrafficHost) {
    this.limits = trafficLimits();
    this.rollouts = new Rollouts(host);
  }

  /** A route's instances and traffic (route-table.ts): the rollout's two sides, the settings of the db, HQ's switch. */
  route(ctrl: ServiceController, orders: Orders | undefined, serving: Serving | null): { instances: WireInstance[]; traffic?: WireTraffic } {
    return routeOf(serving, this.rollouts.stableOf(ctrl.name), trafficOf(this.host.ctx.db, ctrl.name), orders, this.limits);
  }

  /** Records which services HQ puts under maintenance now (status-json.ts reads it); called with each table. */
  noteHq(services: Iterable<{ readonly name: string; readonly orders: Orders }>): void {
    const on: Record<string, { message: string; allow: readonly string[] }> = {};
    for (const s of services) if (s.orders.maintenance) on[s.name] = { message: s.orders.maintenance.message, allow: s.orders.maintenance.allow };
    const text = JSON.stringify(on);
    if (text === this.hqMaintenance) return;
    this.hqMaintenance = text;
    try {
      setKv(this.host.ctx.db, 'traffic.hq', text);
    } catch (e) {
      this.host.ctx.log(`recording HQ's maintenance switches failed: ${(e as Error).message}`);
    }
  }

  private known(name: string): boolean {
    const c = this.host.ctrl(name);
    return c !== undefined && !c.removed;
  }

  async maintenance(name: string, on: Omit<MaintenanceSetting, 'by' | 'at'> | null, by: string): Promise<TrafficResult> {
    if (!this.known(name)) return { ok: false, message: `no service named ${name}` };
    updateTraffic(this.host.ctx.db, name, (t) => (on ? { ...t, maintenance: { ...on, ...setBy(by) } } : without(t, 'maintenance')));
    await this.host.publish();
    const hq = this.host.orders(name)?.maintenance;
    this.host.ctx.log(`${name}: maintenance ${on ? 'on' : 'off'} by ${by}`);
    if (on) return { ok: true, message: `${name}: under maintenance: 503 with Retry-After ${on.retryAfter}${on.allow.length ? `, except ${on.allow.join(' ')}` : ''}` };
    if (hq) return { ok: true, message: `${name}: the admiral's maintenance is off, but HQ's orders keep the service under maintenance (remove \`maintenance\` from its orders)` };
    return { ok: true, message: `${name}: maintenance off: the service answers again` };
  }

  /** Holds new requests from now on, then waits (STARPHLEET_PAUSE_DRAIN at most) for the ones in flight to finish. */
  async pause(name: string, maxPauseS: number, by: string): Promise<TrafficResult> {
    if (!this.known(name)) return { ok: false, message: `no service named ${name}` };
    updateTraffic(this.host.ctx.db, name, (t) => ({ ...t, pause: { maxPauseS, ...setBy(by) } }));
    await this.host.publish();
    this.host.ctx.log(`${name}: paused by ${by} (a request waits ${maxPauseS} s at most)`);
    const left = await this.drain(name);
    return { ok: true, message: `${name}: paused: new requests wait (each ${maxPauseS} s at most, then 503) until starphleet resume ${name}${left}` };
  }

  async resume(name: string, by: string): Promise<TrafficResult> {
    if (!this.known(name)) return { ok: false, message: `no service named ${name}` };
    const t = trafficOf(this.host.ctx.db, name);
    if (!t.pause && !t.releasePause) return { ok: false, message: `${name} is not paused` };
    updateTraffic(this.host.ctx.db, name, (x) => without(without(x, 'pause'), 'releasePause'));
    await this.host.publish();
    this.host.ctx.log(`${name}: resumed by ${by}`);
    return { ok: true, message: `${name}: resumed: held requests go on, oldest first` };
  }

  /**
   * Waits until nothing but long-lived connections is open to the service's instances (the embedded plane tells
   * requests from WebSockets and event streams; nginx counts connections, so those keep it waiting to the bound).
   * Returns what is left, said as a clause ('' when nothing).
   */
  private async drain(name: string): Promise<string> {
    const ctrl = this.host.ctrl(name);
    const ids = [...webInstances(ctrl?.serving ?? null), ...webInstances(this.rollouts.stableOf(name))].map((i) => i.id);
    const started = Date.now();
    const deadline = started + this.limits.drainMs;
    for (;;) {
      let open = 0;
      for (const id of ids) open += (await this.host.counts(id))?.requests ?? 0;
      if (open === 0) return '';
      if (Date.now() >= deadline) return `; ${open} request(s) or connection(s) still open to its instances after ${this.limits.drainMs / 1000} s (STARPHLEET_PAUSE_DRAIN): left to finish`;
      // Each look asks the plane (on nginx: every process's stat and the whole TCP table); a drain that a WebSocket
      // holds to its bound looks less often after its first second.
      await sleep(pollInterval(started, { fastMs: 50, slowMs: 250, forMs: 1000 }));
    }
  }

  /**
   * `release_pause` (orders, or app.json scripts.release_pause; the ship's STARPHLEET_RELEASE_PAUSE when no seconds):
   * pauses the service before a deploy's release phase and returns how to resume after the switch (or the failure).
   * Null when the service does not ask for it or serves nothing yet (nothing to hold).
   */
  async pauseForRelease(ctrl: ServiceController, orders: Orders, release: Release): Promise<(() => Promise<void>) | null> {
    // HQ's orders win over the release's app.json (scripts.release_pause).
    const asked = orders.releasePause !== undefined ? orders.releasePause : release.config.manifest?.releasePause;
    if (asked === undefined || !ctrl.serving || release.config.releaseCommand === undefined) return null;
    const maxPauseS = asked ?? this.limits.releasePauseS;
    const id = release.config.id;
    updateTraffic(this.host.ctx.db, ctrl.name, (t) => ({ ...t, releasePause: { maxPauseS, release: id, ...setBy('release_pause') } }));
    await this.host.publish();
    const left = await this.drain(ctrl.name);
    this.host.ctx.log(`${ctrl.name}: paused for the release phase of release ${id}${left}`);
    return async () => {
      updateTraffic(this.host.ctx.db, ctrl.name, (t) => (t.releasePause?.release === id ? without(t, 'releasePause') : t));
      await this.host.publish();
      this.host.ctx.log(`${ctrl.name}: resumed after the release phase of release ${id}`);
    };
  }

  /** The status of one service's traffic (status-json.ts has its own reader of the db for the whole list). */
  describe(name: string): string {
    const t = trafficOf(this.host.ctx.db, name);
    const m = maintenanceOf(this.host.orders(name)?.maintenance, t.maintenance);
    const parts = [m ? `maintenance (${m.source})` : '', t.pause || t.releasePause ? 'paused' : '', t.rollout ? `rollout ${t.rollout.percent}%${t.rollout.stable ? '' : ' (armed)'}` : ''];
    return parts.filter(Boolean).join(', ') || 'as usual';
  }

  // Rollouts (rollouts.ts): the admiral's side.
  rollout(name: string, ask: RolloutAsk, by: string): Promise<TrafficResult> {
    if (!this.known(name)) return Promise.resolve({ ok: false, message: `no service named ${name}` });
    return this.rollouts.set(name, ask, by);
  }

  promote(name: string, by: string): Promise<TrafficResult> {
    if (!this.known(name)) return Promise.resolve({ ok: false, message: `no service named ${name}` });
    return this.rollouts.promote(name, by);
  }

  abort(name: string, by: string): Promise<TrafficResult> {
    if (!this.known(name)) return Promise.resolve({ ok: false, message: `no service named ${name}` });
    return this.rollouts.abort(name, by, `aborted by ${by}`);
  }
}
