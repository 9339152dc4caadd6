import { getKv, setKv } from '../../state/hq.js';
import type { Db } from '../../state/db.js';
import type { WireMatch } from '../../dataplane/protocol/wire-traffic.js';
import { trafficLimitSettings } from '../../settings/agent-settings.js';

/** Who set something and when: the status and the audit show it. */
export interface SetBy {
  readonly by: string;
  readonly at: string;
}

export interface MaintenanceSetting extends SetBy {
  readonly message: string;
  readonly html: string | null;
  readonly retryAfter: number;
  readonly allow: readonly string[];
}

export interface PauseSetting extends SetBy {
  readonly maxPauseS: number;
}

export interface RolloutSetting extends SetBy {
  readonly percent: number;
  readonly headers: readonly WireMatch[];
  readonly cookies: readonly WireMatch[];
  /** While split: the release that keeps serving the rest (the old side); null: armed, waiting for a deploy. */
  readonly stable: string | null;
}

/** What the admiral set on one service, kept in the state db so a restarted ship publishes the same table. */
export interface TrafficSettings {
  readonly maintenance?: MaintenanceSetting;
  readonly pause?: PauseSetting;
  /** A deploy's release phase under `release_pause`: kept too, so a ship killed meanwhile holds on after its restart. */
  readonly releasePause?: PauseSetting & { readonly release: string };
  readonly rollout?: RolloutSetting;
}

const KEY = 'traffic.services';

/** Every service's settings (a damaged row reads as none: the data plane then serves as usual, and says nothing false). */
export function loadTraffic(db: Db): Record<string, TrafficSettings> {
  try {
    const v: unknown = JSON.parse(getKv(db, KEY) ?? '{}');
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, TrafficSettings>) : {};
  } catch {
    return {};
  }
}

export function trafficOf(db: Db, service: string): TrafficSettings {
  return loadTraffic(db)[service] ?? {};
}

/** Changes one service's settings (fn gets the current ones, returns the new); an empty result drops the row. */
export function updateTraffic(db: Db, service: string, fn: (t: TrafficSettings) => TrafficSettings): TrafficSettings {
  const all = loadTraffic(db);
  const next = fn(all[service] ?? {});
  if (Object.keys(next).length === 0) delete all[service];
  else all[service] = next;
  setKv(db, KEY, JSON.stringify(all));
  return next;
}

/** Drops one key of a settings object (the others stay). */
export function without<K extends keyof TrafficSettings>(t: TrafficSettings, key: K): TrafficSettings {
  const { [key]: _gone, ...rest } = t;
  return rest;
}

export function setBy(by: string): SetBy {
  return { by, at: new Date().toISOString() };
}

/** The ship's traffic settings from its env: read once, a bad value fails the ship's start with its name. */
export interface TrafficLimits {
  /** STARPHLEET_PAUSE_QUEUE: requests a paused service holds at most (per plane process); more get 503 at once. */
  readonly queue: number;
  /** STARPHLEET_PAUSE_DRAIN: how long a pause waits for the requests in flight before it counts as paused. */
  readonly drainMs: number;
  /** STARPHLEET_MAX_PAUSE: a pause's --max-pause when none is given. */
  readonly maxPauseS: number;
  /** STARPHLEET_RELEASE_PAUSE: `release_pause` without seconds. */
  readonly releasePauseS: number;
}

export function trafficLimits(env: NodeJS.ProcessEnv = process.env): TrafficLimits {
  return trafficLimitSettings(env);
}
