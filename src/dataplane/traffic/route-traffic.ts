import type { InstancePool } from '../embedded/instance-pool.js';
import type { Route } from '../embedded/routes.js';
import { allowedPath, maintenanceAnswer, type MaintenanceAnswer } from './maintenance-page.js';
import { listedForNew, newRolloutId, onNewSide, rolloutIdOf, rolloutSetCookie } from './rollout-pick.js';
import type { WireMaintenance, WireMatch, WirePause, WireTraffic } from '../protocol/wire-traffic.js';

/** A route's traffic as the embedded plane holds it: the wire's, with the new side of a rollout as a route of its own. */
export interface RouteTraffic {
  readonly maintenance?: WireMaintenance;
  readonly pause?: WirePause;
  readonly rollout?: {
    readonly percent: number;
    readonly headers: readonly WireMatch[];
    readonly cookies: readonly WireMatch[];
    readonly release: string;
    /** The route's mount and guard with the new release's instances (no traffic of its own). */
    readonly side: Route;
  };
}

/** The route's traffic, its rollout side built on the plane's pools (pools: one per instance of the new release). */
export function routeTraffic(route: Omit<Route, 'traffic'>, t: WireTraffic | undefined, pools: readonly InstancePool[]): RouteTraffic | undefined {
  if (!t || (!t.maintenance && !t.pause && !t.rollout)) return undefined;
  const r = t.rollout;
  // The old side's instance list is left out: the new side spreads over its own instances only.
  const { backends: _old, ...base } = route;
  const side: Route | undefined = r ? { ...base, backend: pools[0] ?? null, ...(pools.length > 1 ? { backends: pools } : {}) } : undefined;
  return {
    ...(t.maintenance ? { maintenance: t.maintenance } : {}),
    ...(t.pause ? { pause: t.pause } : {}),
    ...(r && side ? { rollout: { percent: r.percent, headers: r.headers, cookies: r.cookies, release: r.release, side } } : {}),
  };
}

export type Decision =
  | { readonly kind: 'maintenance'; readonly answer: MaintenanceAnswer }
  | { readonly kind: 'hold'; readonly pause: WirePause }
  | { readonly kind: 'route'; readonly route: Route; readonly setCookie?: string; readonly side?: 'old' | 'new' };

type Headers = Readonly<Record<string, string | string[] | undefined>>;

/**
 * What becomes of a request to a route, in nginx's order: maintenance answers first (allowed paths excepted), then a
 * pause holds it, then a rollout picks its side. `side` is a side already picked (the nginx plane's holding socket is
 * told which one nginx picked), used while the route still has a rollout.
 */
export function decide(route: Route, path: string, headers: Headers, side?: 'old' | 'new'): Decision {
  const t = route.traffic;
  if (!t) return { kind: 'route', route };
  if (t.maintenance && !allowedPath(path, t.maintenance.allow)) return { kind: 'maintenance', answer: maintenanceAnswer(t.maintenance, route.service, headerOf(headers.accept)) };
  if (t.pause) return { kind: 'hold', pause: t.pause };
  const r = t.rollout;
  if (!r) return { kind: 'route', route };
  if (side !== undefined) return { kind: 'route', route: side === 'new' ? r.side : route, side };
  const known = rolloutIdOf(headers.cookie);
  const id = known ?? newRolloutId();
  const toNew = listedForNew(headers, r.headers, r.cookies) || onNewSide(id, route.service, r.percent);
  return { kind: 'route', route: toNew ? r.side : route, side: toNew ? 'new' : 'old', ...(known === undefined ? { setCookie: rolloutSetCookie(id) } : {}) };
}

function headerOf(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v.join(', ') : v;
}
