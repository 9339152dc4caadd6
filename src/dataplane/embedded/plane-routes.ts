import { BasicAuth } from '../basic-auth/auth.js';
import type { AuthBackoff } from '../basic-auth/backoff.js';
import { NOTHING_OPEN, type OpenCounts } from './backend.js';
import type { HashChecks } from '../basic-auth/hash-checks.js';
import { InstancePool } from './instance-pool.js';
import { RouteTable, type Route } from './routes.js';
import { describeUpstream } from '../protocol/upstream.js';
import { routeInstances, type WireInstance, type WireTable } from '../protocol/wire.js';
import { routeTraffic } from '../traffic/route-traffic.js';

export interface DrainResult {
  readonly drained: boolean;
  /** What was still open when the drain timeout passed (closed then); nothing when drained. */
  readonly left: OpenCounts;
}

/**
 * The embedded plane's side of the route tables the ship sends: one InstancePool per instance id, kept while any table
 * routes to it and after that until nothing is open to it any more; one BasicAuth per .htpasswd content, so its cache
 * of accepted credentials outlives tables that leave the file as it was.
 */
export class PlaneRoutes {
  private readonly pools = new Map<string, InstancePool>();
  private readonly retired = new Map<string, InstancePool>();
  private auths = new Map<string, BasicAuth>();

  constructor(
    private readonly checks: HashChecks,
    private readonly backoff: AuthBackoff,
  ) {}

  private poolFor(r: WireInstance): InstancePool {
    const key = `${r.id} ${describeUpstream(r.upstream)}`;
    const known = this.pools.get(key) ?? this.retired.get(key);
    if (known) {
      this.retired.delete(key);
      this.pools.set(key, known);
      return known;
    }
    const p = new InstancePool(r.id, r.upstream);
    this.pools.set(key, p);
    return p;
  }

  build(t: WireTable): RouteTable {
    const used = new Set<string>();
    const auths = new Map<string, BasicAuth>();
    const routes = t.routes.map((r): Route => {
      const backends = routeInstances(r).map((i) => {
        used.add(`${i.id} ${describeUpstream(i.upstream)}`);
        return this.poolFor(i);
      });
      const backend = backends[0] ?? null;
      let guard: BasicAuth | null = null;
      if (r.auth) {
        const key = JSON.stringify([r.service, r.auth.realm, r.auth.users]);
        guard = auths.get(key) ?? this.auths.get(key) ?? new BasicAuth(r.auth.users, r.auth.realm, r.service, this.checks, this.backoff);
        auths.set(key, guard);
      }
      const route: Route = { mount: r.mount, service: r.service, backend, ...(backends.length > 1 ? { backends } : {}), hosts: r.hosts, guard, ...(r.publishPort !== undefined ? { publishPort: r.publishPort } : {}), ...(r.httpsOnly ? { httpsOnly: true } : {}) };
      // A rollout's new instances get pools like any instance (kept while routed, drained when they leave).
      const side = (r.traffic?.rollout?.instances ?? []).map((i) => {
        used.add(`${i.id} ${describeUpstream(i.upstream)}`);
        return this.poolFor(i);
      });
      const traffic = routeTraffic(route, r.traffic, side);
      return traffic ? { ...route, traffic } : route;
    });
    this.auths = auths;
    for (const [key, p] of [...this.pools]) {
      if (used.has(key)) continue;
      this.pools.delete(key);
      this.retire(key, p);
    }
    return new RouteTable(routes);
  }

  /** Off every table: its pool goes once nothing is open to it (at once when nothing is). */
  private retire(key: string, p: InstancePool): void {
    this.retired.set(key, p);
    const check = (): void => {
      if (this.retired.get(key) !== p) return;
      if (p.inflight === 0) {
        this.retired.delete(key);
        p.destroy();
        return;
      }
      void p.drained(60_000).then(check);
    };
    check();
  }

  private byId(id: string): InstancePool[] {
    return [...this.pools.values(), ...this.retired.values()].filter((p) => p.id === id);
  }

  counts(id: string): OpenCounts {
    let requests = 0;
    let streams = 0;
    let upgrades = 0;
    for (const p of this.byId(id)) {
      const c = p.counts();
      requests += c.requests;
      streams += c.streams;
      upgrades += c.upgrades;
    }
    return { requests, streams, upgrades };
  }

  closeIdle(id: string): void {
    for (const p of this.byId(id)) p.closeIdle();
  }

  /** Idle connections closed, then a wait for what is open, up to timeoutMs; what is left then is closed. */
  async drain(id: string, timeoutMs: number): Promise<DrainResult> {
    const pools = this.byId(id);
    if (pools.length === 0) return { drained: true, left: NOTHING_OPEN };
    for (const p of pools) p.closeIdle();
    const ok = (await Promise.all(pools.map((p) => p.drained(timeoutMs)))).every(Boolean);
    if (ok) return { drained: true, left: NOTHING_OPEN };
    const left = this.counts(id);
    for (const p of this.byId(id)) p.closeAll();
    return { drained: false, left };
  }

  close(): void {
    for (const p of [...this.pools.values(), ...this.retired.values()]) p.destroy();
    this.pools.clear();
    this.retired.clear();
  }
}
