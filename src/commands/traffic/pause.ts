import { parseDuration } from '../../util/duration.js';
import { audited, callerName } from '../command-audit.js';
import type { ShipCommand } from '../command.js';
import { parseFlags } from './traffic-args.js';

/** The longest --max-pause: a held request keeps a client connection open that long. */
const MAX_PAUSE_S = 3600;

/** Holds a service's new requests after the ones in flight finish; resume sends them on. */
export const pauseCommand: ShipCommand = {
  name: 'pause',
  summary: 'hold a service\'s new requests (after the ones in flight finish) until resume',
  usage: '<service> [--max-pause 30s]',
  details: `From now on the service's new requests wait at the data plane (WebSockets already open stay open); the
command returns once the requests in flight have finished (at most STARPHLEET_PAUSE_DRAIN, 10 s). starphleet resume
sends the held requests on, oldest first. A request held longer than --max-pause (default STARPHLEET_MAX_PAUSE, 30 s;
at most 1 h) is answered 503 with Retry-After; the service stays paused. At most STARPHLEET_PAUSE_QUEUE (5000)
requests wait per data plane process: more get 503 at once. A ship restart keeps the pause (and what is held).`,
  examples: ['starphleet pause shop', 'starphleet pause shop --max-pause 2m', 'ssh -p 2222 admiral@ship starphleet pause shop'],
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
  name: 'resume',
  summary: 'end a pause: the held requests go on, oldest first',
  usage: '<service>',
  details: `Ends starphleet pause (and a deploy's release_pause, if one was left by a ship that stopped during it):
requests held at the data plane are sent on in the order they came, to the release that serves now.`,
  examples: ['starphleet resume shop', 'ssh -p 2222 admiral@ship starphleet resume shop'],
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
