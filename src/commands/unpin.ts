import { audited, callerName } from './command-audit.js';
import type { ShipCommand } from './command.js';
import { unpinMeta } from './meta/service-meta.js';

/** Ends a rollback's pin: the service follows its ref again. */
export const unpinCommand: ShipCommand = {
  ...unpinMeta,
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
