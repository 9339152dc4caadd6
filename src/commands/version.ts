import { VERSION } from '../version.js';
import type { ShipCommand } from './command.js';

export const versionCommand: ShipCommand = {
  name: 'version',
  summary: 'print the version of the running ship',
  usage: '',
  async run(args, ctx) {
    if (args.length > 0) {
      ctx.err('usage: starphleet version\n');
      return 2;
    }
    ctx.out(`${VERSION}\n`);
    return 0;
  },
};
