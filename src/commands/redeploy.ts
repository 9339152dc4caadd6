import { audited, callerName } from './command-audit.js';
import type { ShipCommand } from './command.js';
import { admiralAsked, splitProof } from './phleet/phleet-proof.js';
import { redeployMeta } from './meta/service-meta.js';

const USAGE = 'usage: starphleet redeploy <service>';

/** Builds the service's current sha again and swaps it in like any deploy; waits until it serves or failed. */
export const redeployCommand: ShipCommand = {
  ...redeployMeta,
  async run(argv, ctx) {
    const { args, proof } = splitProof(argv);
    const [service] = args;
    if (args.length !== 1 || service === undefined || service.startsWith('-')) {
      ctx.err(`${USAGE}\n`);
      return 2;
    }
    // Another ship asks only with an admiral's signed request (phleet redeploy); checked before anything is done.
    if (proof !== undefined && !(await admiralAsked(proof, 'redeploy', service, ctx))) return 1;
    return audited(ctx, ['redeploy', service], async () => {
      ctx.out(`redeploying ${service}...\n`);
      const r = await ctx.ship.agent.redeploy(service, callerName(ctx));
      if (r.ok) {
        ctx.out(`${r.message}\n`);
        return 0;
      }
      ctx.err(`starphleet redeploy: ${r.message}\n`);
      return 1;
    });
  },
};
