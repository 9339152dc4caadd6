import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readShips } from './record.js';
import { canarySeconds as canarySecondsSetting } from '../settings/env-settings.js';

/** HQ `canary`: ship names, one per line (`#` comments and blank lines ignored). */
export function canaryShips(hqDir: string): string[] {
  let text = '';
  try {
    text = readFileSync(join(hqDir, 'canary'), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => l.replace(/#.*/, '').trim())
    .filter(Boolean);
}

/** STARPHLEET_CANARY_SECONDS (HQ .starphleet, else the ship's env), default 60. */
export function canarySeconds(hqEnv: Readonly<Record<string, string>>): number {
  return canarySecondsSetting(hqEnv);
}

/**
 * When this ship first saw each canary's entry report a service's sha serving (`<canary>/<service>` -> sha and time),
 * in this process. An entry's own `since` is the canary's word, and any ship that can write ships/ can write a
 * `since` of 1970: the window counts only from what this ship observed, and starts again when the entry stops
 * reporting that sha serving (or this ship restarts).
 */
const observed = new Map<string, { sha: string; at: number }>();

function healthySince(canary: string, service: string, sha: string, serving: boolean, now: number): number | null {
  const key = `${canary}/${service}`;
  if (!serving) {
    observed.delete(key);
    return null;
  }
  const o = observed.get(key);
  if (o && o.sha === sha) return o.at;
  observed.set(key, { sha, at: now });
  return now;
}

/**
 * Whether this ship may deploy `sha` of a service now. Canary ships (HQ `canary`) go first; every other ship waits
 * until it has seen each canary's ships/ entry report that sha serving for the canary window. A canary that fails the
 * sha never reports it serving, so the rest stay on what they serve. Returns the reason it is held, or null to go ahead.
 */
export function canaryHold(hqDir: string, shipName: string, service: string, sha: string, hqEnv: Readonly<Record<string, string>>, now = Date.now(), shipsDir = hqDir): string | null {
  const canaries = canaryShips(hqDir);
  if (canaries.length === 0 || canaries.includes(shipName)) return null;
  const windowMs = canarySeconds(hqEnv) * 1000;
  const entries = readShips(shipsDir).ships;
  for (const name of canaries) {
    const s = entries.find((e) => e.name === name)?.services[service];
    const since = healthySince(name, service, sha, !!s && s.sha === sha && s.state === 'serving', now);
    const healthyFor = since === null ? -1 : now - since;
    if (healthyFor < windowMs) {
      const what = s && s.sha === sha && s.state !== 'serving' ? `${s.state} there` : healthyFor >= 0 ? `seen serving here for ${Math.floor(healthyFor / 1000)} of ${windowMs / 1000} s` : 'not serving it yet';
      return `held by canary ${name}: ${sha.slice(0, 7)} ${what}`;
    }
  }
  return null;
}
