import { COOKIE_NAME, MATCH_NAME, MATCH_VALUE, type WireMatch } from '../../dataplane/protocol/wire-traffic.js';
import { audited, callerName } from '../command-audit.js';
import type { ShipCommand } from '../command.js';
import { parseFlags } from './traffic-args.js';
import { rolloutMeta } from '../meta/traffic-meta.js';

const USAGE = 'usage: starphleet rollout <service> --percent N [--header NAME:VALUE]... [--cookie NAME=VALUE]... | promote | abort';

/** `X-Beta:1` / `beta=yes`: a name and a value of visible characters (they go into nginx's config). */
function match(raw: string, sep: string, name: RegExp): WireMatch | null {
  const at = raw.indexOf(sep);
  if (at <= 0) return null;
  const m = { name: raw.slice(0, at).trim(), value: raw.slice(at + 1).trim() };
  return name.test(m.name) && MATCH_VALUE.test(m.value) ? m : null;
}

/** A share of clients (and listed ones) to the new release of a deploy, the previous one serving the rest. */
export const rolloutCommand: ShipCommand = {
  ...rolloutMeta,
  run(argv, ctx) {
    const p = parseFlags(argv, ['--percent', '--header', '--cookie']);
    const bad = (why: string): Promise<number> => {
      ctx.err(`starphleet rollout: ${why}\n${USAGE}\n`);
      return Promise.resolve(2);
    };
    if ('error' in p) return bad(p.error);
    const [service, verb] = p.operands;
    if (service === undefined || p.operands.length > 2) return bad('expected <service> and --percent N, promote or abort');
    const by = callerName(ctx);
    if (verb === 'promote' || verb === 'abort') {
      if (p.flags.size > 0) return bad(`${verb} takes no options`);
      return audited(ctx, ['rollout', service, verb], async () => {
        const r = verb === 'promote' ? await ctx.ship.agent.traffic.promote(service, by) : await ctx.ship.agent.traffic.abort(service, by);
        (r.ok ? ctx.out : ctx.err)(`${r.ok ? '' : 'starphleet rollout: '}${r.message}\n`);
        return r.ok ? 0 : 1;
      });
    }
    if (verb !== undefined) return bad(`unknown ${JSON.stringify(verb)}: expected promote or abort`);
    const raw = p.flags.get('--percent')?.at(-1);
    if (raw === undefined || !/^\d{1,3}$/.test(raw) || Number(raw) > 100) return bad(`--percent: expected a whole number from 0 to 100${raw === undefined ? '' : `, got ${JSON.stringify(raw)}`}`);
    const headers: WireMatch[] = [];
    for (const h of p.flags.get('--header') ?? []) {
      const m = match(h, ':', MATCH_NAME);
      if (!m) return bad(`--header: expected NAME:VALUE (a header name, a value of visible characters), got ${JSON.stringify(h)}`);
      headers.push(m);
    }
    const cookies: WireMatch[] = [];
    for (const c of p.flags.get('--cookie') ?? []) {
      const m = match(c, '=', COOKIE_NAME);
      if (!m) return bad(`--cookie: expected NAME=VALUE (letters, digits and _ in the name), got ${JSON.stringify(c)}`);
      cookies.push(m);
    }
    if (headers.length + cookies.length > 16) return bad('at most 16 --header and --cookie values');
    return audited(ctx, ['rollout', ...argv], async () => {
      const r = await ctx.ship.agent.traffic.rollout(service, { percent: Number(raw), headers, cookies }, by);
      (r.ok ? ctx.out : ctx.err)(`${r.ok ? '' : 'starphleet rollout: '}${r.message}\n`);
      return r.ok ? 0 : 1;
    });
  },
};
