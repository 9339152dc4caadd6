import { audited, callerName } from './command-audit.js';
import type { ShipCommand } from './command.js';
import { rollbackMeta } from './meta/service-meta.js';

const USAGE = 'usage: starphleet rollback <service> [<release>]';

/** Serves an earlier retained release without a rebuild and pins the service to it. */
export const rollbackCommand: ShipCommand = {
  ...rollbackMeta,
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
