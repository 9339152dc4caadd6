import { VERSION } from '../version.js';
import { refuseArguments, type ShipCommand } from './command.js';

export const versionCommand: ShipCommand = {
  name: 'version',
  summary: 'print the version of the running ship',
  usage: '',
  async run(args, ctx) {
    const refused = refuseArguments('version', args, ctx);
    if (refused !== null) return refused;
    ctx.out(`${VERSION}\n`);
    return 0;
  },
};
