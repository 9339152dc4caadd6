import { allowPathProblem } from '../../headquarters/traffic-orders.js';
import { parseDuration } from '../../util/duration.js';
import { audited, callerName } from '../command-audit.js';
import type { ShipCommand } from '../command.js';
import { MAX_PAGE_BYTES, parseFlags } from './traffic-args.js';
import { maintenanceMeta } from '../meta/traffic-meta.js';

const USAGE = 'usage: starphleet maintenance <service> on [--message TEXT] [--page FILE] [--allow PATH]... [--retry-after S] | off';

/** The service answers 503 with Retry-After and a page; the allowed paths still reach it. */
export const maintenanceCommand: ShipCommand = {
  ...maintenanceMeta,
  run(argv, ctx) {
    const p = parseFlags(argv, ['--message', '--page-html', '--allow', '--retry-after']);
    const bad = (why: string): Promise<number> => {
      ctx.err(`starphleet maintenance: ${why}\n${USAGE}\n`);
      return Promise.resolve(2);
    };
    if ('error' in p) return bad(p.error);
    const [service, mode] = p.operands;
    if (service === undefined || p.operands.length !== 2 || (mode !== 'on' && mode !== 'off')) return bad('expected <service> on|off');
    const one = (name: string): string | undefined => p.flags.get(name)?.at(-1);
    const message = one('--message') ?? '';
    const html = one('--page-html') ?? null;
    const allow = p.flags.get('--allow') ?? [];
    const retryRaw = one('--retry-after');
    if (mode === 'off' && p.flags.size > 0) return bad('off takes no options');
    if (message.length > 1024 || /[\x00-\x1f\x7f]/.test(message)) return bad('--message: one line of at most 1024 characters');
    if (html !== null && Buffer.byteLength(html) > MAX_PAGE_BYTES) return bad(`--page: at most ${MAX_PAGE_BYTES} bytes`);
    for (const a of allow) {
      const why = allowPathProblem(a);
      if (why) return bad(`--allow: ${why}`);
    }
    const retryAfter = retryRaw === undefined ? 60 : parseDuration(retryRaw, 86_400);
    if (retryAfter === null) return bad(`--retry-after: expected seconds (at most a day), got ${JSON.stringify(retryRaw)}`);
    // The page itself is not written into the audit trail: its size is.
    const shown = argv.map((a, i) => (argv[i - 1] === '--page-html' ? `(${Buffer.byteLength(a)} bytes)` : a));
    return audited(ctx, ['maintenance', ...shown], async () => {
      const on = mode === 'on' ? { message, html, retryAfter: Math.round(retryAfter), allow } : null;
      const r = await ctx.ship.agent.traffic.maintenance(service, on, callerName(ctx));
      (r.ok ? ctx.out : ctx.err)(`${r.ok ? '' : 'starphleet maintenance: '}${r.message}\n`);
      return r.ok ? 0 : 1;
    });
  },
};
