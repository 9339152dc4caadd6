import type { WireMaintenance, WireTraffic } from '../../dataplane/protocol/wire-traffic.js';
import type { WireInstance } from '../../dataplane/protocol/wire.js';
import type { Orders } from '../../headquarters/types.js';
import { webInstances, type Serving } from '../deploy/controller.js';
import type { TrafficLimits, TrafficSettings } from './settings.js';

/** A maintenance page's Retry-After when the admiral gave none (HQ's switch has no way to give one). */
export const DEFAULT_RETRY_AFTER = 60;

/**
 * HQ's `maintenance` and the admiral's: HQ's wins while its orders say so (its message, when it has one), the
 * admiral's page, Retry-After and allowed paths still apply, and both lists of allowed paths pass.
 */
export function maintenanceOf(hq: Orders['maintenance'], admiral: TrafficSettings['maintenance']): (WireMaintenance & { readonly source: 'hq' | 'admiral' }) | undefined {
  if (!hq && !admiral) return undefined;
  return {
    source: hq ? 'hq' : 'admiral',
    message: (hq?.message || admiral?.message) ?? '',
    html: admiral?.html ?? null,
    retryAfter: admiral?.retryAfter ?? DEFAULT_RETRY_AFTER,
    allow: [...new Set([...(hq?.allow ?? []), ...(admiral?.allow ?? [])])],
  };
}

const wire = (s: Serving | null): WireInstance[] => webInstances(s).map((i) => ({ id: i.backend.id, upstream: i.backend.upstream }));

/**
 * A route's instances and traffic: the serving release's web instances, or, while a rollout splits the service, the
 * stable (old) release's as the route's own and the serving (new) one's as the rollout's side.
 */
export function routeOf(serving: Serving | null, stable: Serving | null, t: TrafficSettings, orders: Orders | undefined, limits: TrafficLimits): { instances: WireInstance[]; traffic?: WireTraffic } {
  const m = maintenanceOf(orders?.maintenance, t.maintenance);
  const pauses = [t.pause?.maxPauseS, t.releasePause?.maxPauseS].filter((x): x is number => x !== undefined);
  // A new side with no instance up (one exited, restarting) sends nobody there: the stable side takes everyone.
  const split = t.rollout && stable && wire(serving).length > 0 ? t.rollout : undefined;
  const instances = t.rollout && stable ? wire(stable) : wire(serving);
  const traffic: WireTraffic = {
    ...(m ? { maintenance: { message: m.message, html: m.html, retryAfter: m.retryAfter, allow: m.allow } } : {}),
    ...(pauses.length > 0 ? { pause: { maxPauseMs: Math.round(Math.max(...pauses) * 1000), queue: limits.queue } } : {}),
    ...(split && serving
      ? { rollout: { percent: split.percent, headers: split.headers, cookies: split.cookies, release: serving.release.config.id, instances: wire(serving) } }
      : {}),
  };
  return Object.keys(traffic).length > 0 ? { instances, traffic } : { instances };
}
