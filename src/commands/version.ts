import { VERSION } from '../version.js';
import { refuseArguments, type ShipCommand } from './command.js';
import { versionMeta } from './meta/ship-meta.js';

export const versionCommand: ShipCommand = {
  ...versionMeta,
  async run(args, ctx) {
    const refused = refuseArguments('version', args, ctx);
    if (refused !== null) return refused;
    ctx.out(`${VERSION}\n`);
    return 0;
  },
};
