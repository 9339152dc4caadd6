import { audited, callerName } from './command-audit.js';
import type { ShipCommand } from './command.js';

const USAGE = 'usage: starphleet rollback <service> [<release>]';

/** Serves an earlier retained release without a rebuild and pins the service to it. */
export const rollbackCommand: ShipCommand = {
  name: 'rollback',
  summary: 'serve the previous (or a named) retained release again, without a rebuild, and pin it',
  usage: '<service> [<release>]',
  details: `Starts every process of the release (health-checked like a deploy), switches the route to it and drains the
instances it replaces. With no <release>, the newest retained one that served before the current one.
The service stays pinned (starphleet status shows it) until its git ref moves to a new sha or
starphleet unpin <service>. See starphleet releases <service> for the ids.`,
  examples: ['starphleet rollback hello', 'starphleet rollback hello 20261201093000-1a2b3c4', 'ssh -p 2222 admiral@ship starphleet rollback hello'],
  run(args, ctx) {
    const [service, release] = args;
    if (service === undefined || args.length > 2 || args.some((a) => a.startsWith('-'))) {
      ctx.err(`${USAGE}\n`);
      return Promise.resolve(2);
    }
    return audited(ctx, ['rollback', ...args], async () => {
      ctx.out(`rolling ${service} back${release ? ` to ${release}` : ''}...\n`);
      const r = await ctx.ship.agent.rollback(service, release, callerName(ctx));
      if (r.ok) {
        ctx.out(`${r.message}\n`);
        return 0;
      }
      ctx.err(`starphleet rollback: ${r.message}\n`);
      return 1;
    });
  },
};
