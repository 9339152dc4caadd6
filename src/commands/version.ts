import { VERSION } from '../version.js';
import { refuseArguments, type ShipCommand } from './command.js';

export const versionCommand: ShipCommand = {
  name: 'version',
  summary: 'print the version of the running ship',
  usage: '',
  details: 'Prints the version of the running ship (`starphleet --version` prints the local CLI\'s, with its commit).',
  examples: ['ssh -p 2222 admiral@ship starphleet version'],
  async run(args, ctx) {
    const refused = refuseArguments('version', args, ctx);
    if (refused !== null) return refused;
    ctx.out(`${VERSION}\n`);
    return 0;
  },
};
