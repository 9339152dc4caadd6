import { placedOn, tagsOf } from '../../headquarters/placement.js';
import type { DesiredState, Service } from '../../headquarters/types.js';
import { readShips } from '../../phleet/record.js';
import { shipsCheckout } from '../../phleet/ships-checkout.js';
import { handoffSeconds as handoffSecondsSetting } from '../../settings/env-settings.js';

/** How long a service moved off this ship keeps serving here while no ship it moved to serves it (seconds). */
export const HANDOFF_SECONDS = 300;

/** The services of the desired state that run on this ship (`on` names it or one of its tags, or there is no `on`). */
export function servicesHere(desired: DesiredState, ship: string, ownTags: readonly string[] | undefined): { services: Service[]; tags: string[] } {
  const tags = tagsOf(ship, ownTags, desired.tags);
  return { services: desired.services.filter((s) => placedOn(s.orders.on, ship, tags)), tags: [...tags].sort() };
}

export interface Handoff {
  /** True: stop it here now (drained first, as a removed order). */
  readonly stop: boolean;
  /** What status and the log say. */
  readonly why: string;
  /** No ship in ships/ is placed to take it (or an entry could not be read): see nobodySince. */
  readonly nobody: boolean;
}

/**
 * "Nobody can take it" must hold this long before a ship stops a service at once: the checkout it reads ships/ from
 * is rewritten by the HQ sync meanwhile (an entry missing or half-written for a moment reads as no ship).
 */
export const NOBODY_CONFIRM_MS = 3000;

/**
 * A service moved off this ship: it keeps serving here until a ship it is placed on now reports it serving in ships/
 * (so a client or balancer that still sends here is never refused while nobody serves it), or until the hand-off
 * time is over, or at once when no ship listed in ships/ is placed to take it.
 */
export function handoff(o: {
  readonly dataDir: string;
  readonly ship: string;
  readonly service: Service;
  readonly desired: DesiredState;
  readonly since: number;
  readonly now: number;
  /** Since when every read found nobody to take it (null: the last read found someone). */
  readonly nobodySince?: number | null;
}): Handoff {
  const on = o.service.orders.on?.join(' ') ?? 'every ship';
  const seconds = handoffSeconds(o.desired.env);
  const read = readShips(shipsCheckout(o.dataDir, o.desired.env));
  const entries = read.ships.filter((r) => r.name !== o.ship);
  const targets = entries.filter((r) => placedOn(o.service.orders.on, r.name, tagsOf(r.name, r.tags, o.desired.tags)));
  const waited = Math.round((o.now - o.since) / 1000);
  if (targets.length === 0 || read.problems.length > 0) {
    const nobodyFor = o.now - (o.nobodySince ?? o.now);
    if (targets.length === 0 && nobodyFor >= NOBODY_CONFIRM_MS) return { stop: true, nobody: true, why: `moved off this ship (on ${on}); no ship in ships/ is placed to take it: stopping here` };
    if (targets.length === 0 && waited < seconds) return { stop: false, nobody: true, why: `moved off this ship (on ${on}); no ship in ships/ is placed to take it: stopping here in a moment` };
  }
  const serving = targets.filter((r) => r.services[o.service.name]?.state === 'serving').map((r) => r.name);
  if (serving.length > 0) return { stop: true, nobody: false, why: `moved to ${serving.join(', ')} (on ${on}), which serve it: draining and stopping here` };
  if (waited >= seconds) return { stop: true, nobody: false, why: `moved off this ship (on ${on}); none of ${targets.map((r) => r.name).join(', ') || 'the ships'} serves it after ${seconds} s (STARPHLEET_HANDOFF_SECONDS): stopping here anyway` };
  return { stop: false, nobody: read.problems.length > 0, why: `moving to ${targets.map((r) => r.name).join(', ')} (on ${on}): serving here until one of them serves it (${waited} of at most ${seconds} s)` };
}

/** STARPHLEET_HANDOFF_SECONDS from HQ .starphleet, else the ship's env; a bad value gives the default. */
function handoffSeconds(hqEnv: Readonly<Record<string, string>>): number {
  return handoffSecondsSetting(hqEnv, HANDOFF_SECONDS);
}
