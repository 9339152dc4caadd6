import { parseDuration } from '../../util/duration.js';
import { audited, callerName } from '../command-audit.js';
import type { ShipCommand } from '../command.js';
import { parseFlags } from './traffic-args.js';
import { pauseMeta, resumeMeta } from '../meta/traffic-meta.js';

/** The longest --max-pause: a held request keeps a client connection open that long. */
const MAX_PAUSE_S = 3600;

/** Holds a service's new requests after the ones in flight finish; resume sends them on. */
export const pauseCommand: ShipCommand = {
  ...pauseMeta,
  run(argv, ctx) {
    const p = parseFlags(argv, ['--max-pause']);
    const usage = 'usage: starphleet pause <service> [--max-pause 30s]';
    if ('error' in p || p.operands.length !== 1) {
      ctx.err(`${'error' in p ? `starphleet pause: ${p.error}\n` : ''}${usage}\n`);
      return Promise.resolve(2);
    }
    const service = p.operands[0] as string;
    const raw = p.flags.get('--max-pause')?.at(-1);
    const maxPause = raw === undefined ? ctx.ship.agent.traffic.limits.maxPauseS : parseDuration(raw, MAX_PAUSE_S);
    if (maxPause === null) {
      ctx.err(`starphleet pause: --max-pause: expected a duration such as 30s or 2m (at most 1h), got ${JSON.stringify(raw)}\n`);
      return Promise.resolve(2);
    }
    return audited(ctx, ['pause', ...argv], async () => {
      const r = await ctx.ship.agent.traffic.pause(service, maxPause, callerName(ctx));
      (r.ok ? ctx.out : ctx.err)(`${r.ok ? '' : 'starphleet pause: '}${r.message}\n`);
      return r.ok ? 0 : 1;
    });
  },
};

export const resumeCommand: ShipCommand = {
  ...resumeMeta,
  run(argv, ctx) {
    const [service] = argv;
    if (service === undefined || argv.length !== 1 || service.startsWith('-')) {
      ctx.err('usage: starphleet resume <service>\n');
      return Promise.resolve(2);
    }
    return audited(ctx, ['resume', service], async () => {
      const r = await ctx.ship.agent.traffic.resume(service, callerName(ctx));
      (r.ok ? ctx.out : ctx.err)(`${r.ok ? '' : 'starphleet resume: '}${r.message}\n`);
      return r.ok ? 0 : 1;
    });
  },
};
