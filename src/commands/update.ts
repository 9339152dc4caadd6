import { runUpdate } from '../update/update.js';
import type { ShipCommand } from './command.js';

/** The same update `ssh update@ship` runs (that session reaches it through the control socket, as a shell would). */
export const updateCommand: ShipCommand = {
  name: 'update',
  summary: 'update starphleet on this ship from STARPHLEET_REMOTE, handing over without downtime',
  usage: '',
  async run(args, ctx) {
    if (args.length > 0) {
      ctx.err('usage: starphleet update\n');
      return 2;
    }
    return runUpdate(ctx.ship, { out: ctx.out, err: ctx.err, signal: ctx.signal });
  },
};
