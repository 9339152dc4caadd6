import { describeContact } from '../headquarters/contact.js';
import type { ShipCommand } from './command.js';
import { refuseArguments } from './command.js';
import { syncMeta } from './meta/ship-meta.js';

/**
 * `starphleet sync`: the ship checks HQ now (one ls-remote; a fetch when its ref moved) instead of at its next pulse,
 * whatever its backoff says. `phleet sync` fans it out to every ship; another ship may ask it (user `ship`): it reads
 * nothing, and asked checks start at most once a second however often they are asked.
 */
export const syncCommand: ShipCommand = {
  ...syncMeta,
  async run(args, ctx) {
    const refused = refuseArguments('sync', args, ctx);
    if (refused !== null) return refused;
    const hq = ctx.ship.headquarters;
    await hq.checkNow();
    const c = hq.contact;
    ctx.out(`hq ${hq.current?.sha?.slice(0, 7) ?? 'none'}: ${describeContact(c)}\n`);
    return c.failingSince === null ? 0 : 1;
  },
};
