import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readShips } from './record.js';

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
  const raw = hqEnv.STARPHLEET_CANARY_SECONDS ?? process.env.STARPHLEET_CANARY_SECONDS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : 60;
}

/**
 * Whether this ship may deploy `sha` of a service now. Canary ships (HQ `canary`) go first; every other ship waits
 * until each canary's ships/ entry reports that sha serving for the canary window. A canary that fails the sha never
 * reports it serving, so the rest stay on what they serve. Returns the reason it is held, or null to go ahead.
 */
export function canaryHold(hqDir: string, shipName: string, service: string, sha: string, hqEnv: Readonly<Record<string, string>>, now = Date.now()): string | null {
  const canaries = canaryShips(hqDir);
  if (canaries.length === 0 || canaries.includes(shipName)) return null;
  const windowMs = canarySeconds(hqEnv) * 1000;
  const entries = readShips(hqDir).ships;
  for (const name of canaries) {
    const s = entries.find((e) => e.name === name)?.services[service];
    const healthyFor = s && s.sha === sha && s.state === 'serving' ? now - Date.parse(s.since) : -1;
    if (healthyFor < windowMs) {
      const what = s && s.sha === sha && s.state !== 'serving' ? `${s.state} there` : healthyFor >= 0 ? `serving ${Math.floor(healthyFor / 1000)} of ${windowMs / 1000} s` : 'not serving it yet';
      return `held by canary ${name}: ${sha.slice(0, 7)} ${what}`;
    }
  }
  return null;
}
