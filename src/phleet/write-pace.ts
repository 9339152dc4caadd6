import { formatRecord, type ShipRecord } from './record.js';

// How often and when a ship writes its ships/ entry when many ships write at once (writeback.ts uses these).

/** Default attempts of one write: with the backoff below, about a minute of racing before the round gives up. */
export const WRITE_ATTEMPTS = 16;

/**
 * The wait after the attempt-th lost race: "full jitter", a random part of a bound that doubles from 100 ms and is at
 * least the contention window (the ships in ships/ times how long one write attempt takes here: the time N ships need
 * to push one after the other), at most 15 s. Ships that lost to the same push spread over the time they need instead
 * of meeting again, and each round lets at least one through, so the retries of N racing ships stay bounded.
 */
export function retryDelayMs(attempt: number, random: () => number = Math.random, contentionMs = 0): number {
  return Math.floor(random() * Math.min(15_000, Math.max(100 * 2 ** Math.min(attempt, 10), contentionMs)));
}

/** Services whose state is on its way somewhere (a deploy running): not worth a commit of its own. */
const TRANSIENT = new Set(['building', 'starting']);

/**
 * Whether `next` differs from `prev` only by services entering a transient state (building, starting): such a change
 * waits (WriteBackLoop) and is usually overtaken by the state it leads to, so a deploy costs the phleet's HQ one
 * commit per ship instead of three.
 */
export function onlyTransient(prev: ShipRecord | null, next: ShipRecord): boolean {
  if (prev === null) return false;
  const services: Record<string, ShipRecord['services'][string]> = {};
  let deploying = false;
  for (const [name, svc] of Object.entries(next.services)) {
    if (!TRANSIENT.has(svc.state)) services[name] = svc;
    else {
      deploying = true;
      if (prev.services[name]) services[name] = prev.services[name];
    }
  }
  // The HQ sha it runs moves with the deploys an HQ commit starts: it is written with the states they end in. (Nothing
  // reads it but people: phleet status asks the ships themselves.)
  const hq = deploying ? prev.hq : next.hq;
  return formatRecord({ ...next, hq, services }) === formatRecord(prev) && formatRecord(next) !== formatRecord(prev);
}

/** How long (in pulses) a transient-only change waits before it is written anyway (a long build shows as building). */
export const TRANSIENT_PULSES = 3;
