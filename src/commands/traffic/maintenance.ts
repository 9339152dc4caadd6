import { allowPathProblem } from '../../headquarters/traffic-orders.js';
import { parseDuration } from '../../util/duration.js';
import { audited, callerName } from '../command-audit.js';
import type { ShipCommand } from '../command.js';
import { MAX_PAGE_BYTES, parseFlags } from './traffic-args.js';

const USAGE = 'usage: starphleet maintenance <service> on [--message TEXT] [--page FILE] [--allow PATH]... [--retry-after S] | off';

/** The service answers 503 with Retry-After and a page; the allowed paths still reach it. */
export const maintenanceCommand: ShipCommand = {
  name: 'maintenance',
  summary: 'put a service under maintenance (503 with Retry-After and a page) or take it out',
  usage: '<service> on [--message TEXT] [--page FILE] [--allow PATH]... [--retry-after S] | off',
  details: `on: every request to the service gets 503 with Retry-After and a page: the HTML page of --page (read where
this command runs, at most 32 KiB) for clients that accept text/html, the message as plain text for the others.
The paths of --allow (under the service's mount, e.g. /up) and what is below them still reach the instances.
  --message TEXT     the text (default: "<service> is down for maintenance")
  --page FILE        an HTML page for browsers (default: one made of the message)
  --allow PATH       a path that still passes (repeatable)
  --retry-after S    Retry-After in seconds (default 60)
off: the service answers again. HQ's orders can say \`maintenance [message]\` too (every ship): that wins while
the orders say so; the admiral's page, Retry-After and allowed paths still apply to it. Audited with the
admiral's key. starphleet status shows who put the service under maintenance.`,
  examples: [
    'starphleet maintenance shop on --message "Back at 14:00" --allow /up',
    'starphleet maintenance shop on --page /srv/pages/maintenance.html --retry-after 600',
    'starphleet maintenance shop off',
    'ssh -p 2222 admiral@ship starphleet maintenance shop on',
  ],
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
