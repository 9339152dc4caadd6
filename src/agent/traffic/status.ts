import { getKv } from '../../state/hq.js';
import type { Db } from '../../state/db.js';
import { maintenanceOf } from './route-of.js';
import { loadTraffic } from './settings.js';

/** A service's traffic in `starphleet status --json` (null: as usual). */
export interface TrafficStatus {
  /** `hq`: its orders say `maintenance` (that wins while they do); `admiral`: starphleet maintenance. */
  readonly maintenance: { readonly source: 'hq' | 'admiral'; readonly message: string; readonly allow: readonly string[]; readonly by: string | null; readonly at: string | null } | null;
  /** `release_pause`: held by a deploy's release phase (the release named); else by starphleet pause. */
  readonly paused: { readonly by: string; readonly at: string; readonly maxPauseS: number; readonly release: string | null } | null;
  /** `split`: the new release serves `percent` of clients, `stable` the rest; `armed`: the next deploy splits. */
  readonly rollout: { readonly state: 'armed' | 'split'; readonly percent: number; readonly stable: string | null; readonly headers: readonly string[]; readonly cookies: readonly string[]; readonly by: string; readonly at: string } | null;
}

function hqSwitches(db: Db): Record<string, { message: string; allow: string[] }> {
  try {
    const v: unknown = JSON.parse(getKv(db, 'traffic.hq') ?? '{}');
    return typeof v === 'object' && v !== null ? (v as Record<string, { message: string; allow: string[] }>) : {};
  } catch {
    return {};
  }
}

/** Every service's traffic that is not as usual, by name. */
export function trafficStatuses(db: Db): Map<string, TrafficStatus> {
  const out = new Map<string, TrafficStatus>();
  const all = loadTraffic(db);
  const hq = hqSwitches(db);
  for (const name of new Set([...Object.keys(all), ...Object.keys(hq)])) {
    const t = all[name] ?? {};
    const m = maintenanceOf(hq[name], t.maintenance);
    const p = t.releasePause ?? t.pause;
    const r = t.rollout;
    if (!m && !p && !r) continue;
    out.set(name, {
      maintenance: m ? { source: m.source, message: m.message, allow: m.allow, by: m.source === 'admiral' ? (t.maintenance?.by ?? null) : 'HQ orders', at: m.source === 'admiral' ? (t.maintenance?.at ?? null) : null } : null,
      paused: p ? { by: p.by, at: p.at, maxPauseS: p.maxPauseS, release: t.releasePause?.release ?? null } : null,
      rollout: r ? { state: r.stable ? 'split' : 'armed', percent: r.percent, stable: r.stable, headers: r.headers.map((h) => `${h.name}:${h.value}`), cookies: r.cookies.map((c) => `${c.name}=${c.value}`), by: r.by, at: r.at } : null,
    });
  }
  return out;
}

/** One line for `starphleet status`, the dashboard and the traffic commands: what differs from usual. */
export function describeTraffic(t: TrafficStatus, release: string | null): string {
  const parts: string[] = [];
  if (t.maintenance) parts.push(`under maintenance (${t.maintenance.source === 'hq' ? 'HQ orders' : `by ${t.maintenance.by ?? '?'}`})${t.maintenance.message ? `: ${t.maintenance.message}` : ''}`);
  if (t.paused) parts.push(t.paused.release ? `paused for the release phase of ${t.paused.release}` : `paused by ${t.paused.by} (a request waits ${t.paused.maxPauseS} s at most)`);
  if (t.rollout) parts.push(t.rollout.state === 'split' ? `rollout: ${t.rollout.percent}% to release ${release ?? '?'}, the rest to ${t.rollout.stable ?? '?'}` : `rollout of ${t.rollout.percent}% armed for the next deploy`);
  return parts.join('; ');
}
