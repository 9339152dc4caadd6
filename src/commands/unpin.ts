import { audited, callerName } from './command-audit.js';
import type { ShipCommand } from './command.js';

/** Ends a rollback's pin: the service follows its ref again. */
export const unpinCommand: ShipCommand = {
  name: 'unpin',
  summary: 'end a rollback pin: the service follows its git ref again',
  usage: '<service>',
  details: `After starphleet rollback the service stays on the release it went back to. unpin lets it follow its ref again:
when the ref's sha is not what serves, it is deployed at once (health checks, drained switch): a release already built
from the same inputs (sha, orders, env, buildpacks) is served again, not rebuilt.`,
  examples: ['starphleet unpin hello', 'ssh -p 2222 admiral@ship starphleet unpin hello'],
  run(args, ctx) {
    const [service] = args;
    if (service === undefined || args.length !== 1 || service.startsWith('-')) {
      ctx.err('usage: starphleet unpin <service>\n');
      return Promise.resolve(2);
    }
    return audited(ctx, ['unpin', service], async () => {
      const r = ctx.ship.agent.unpin(service, callerName(ctx));
      if (r.ok) {
        ctx.out(`${r.message}\n`);
        return 0;
      }
      ctx.err(`starphleet unpin: ${r.message}\n`);
      return 1;
    });
  },
};
