import { runUpdate } from '../update/update.js';
import { refuseArguments, type ShipCommand } from './command.js';

/** The same update `ssh update@ship` runs (that session reaches it through the control socket, as a shell would). */
export const updateCommand: ShipCommand = {
  name: 'update',
  summary: 'update starphleet on this ship from STARPHLEET_REMOTE, handing over without downtime',
  usage: '',
  async run(args, ctx) {
    const refused = refuseArguments('update', args, ctx);
    if (refused !== null) return refused;
    return runUpdate(ctx.ship, { out: ctx.out, err: ctx.err, signal: ctx.signal });
  },
};
