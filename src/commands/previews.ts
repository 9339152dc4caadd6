import { statusJson } from '../agent/status-json.js';
import type { ShipCommand } from './command.js';
import { previewsMeta } from './meta/service-meta.js';

function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** 42 s, 7m, 5h, 3d. */
export function ageText(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.floor(seconds / 60)}m`;
  if (seconds < 172_800) return `${Math.floor(seconds / 3600)}h`;
  return `${Math.floor(seconds / 86_400)}d`;
}

export const previewsCommand: ShipCommand = {
  ...previewsMeta,
  async run(args, ctx) {
    const json = args.includes('--json');
    const rest = args.filter((a) => a !== '--json');
    const [service] = rest;
    if (rest.length > 1 || service?.startsWith('-')) {
      ctx.err('usage: starphleet previews [<service>] [--json]\n');
      return 2;
    }
    const s = statusJson(ctx.ship.db, ctx.ship.options.name, ctx.ship.headquarters.url);
    const ordered = ctx.ship.headquarters.current?.services ?? [];
    if (service !== undefined && !ordered.some((o) => o.name === service) && !s.previews.some((p) => p.service === service)) {
      ctx.err(`starphleet previews: no service named ${service}\n`);
      return 1;
    }
    const rows = s.previews.filter((p) => service === undefined || p.service === service);
    if (json) {
      ctx.out(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    const withOrders = ordered.filter((o) => o.orders.previews !== undefined && (service === undefined || o.name === service)).map((o) => o.name);
    if (rows.length === 0) {
      const none = service !== undefined && !withOrders.includes(service) ? `${service} has no \`previews\` in its orders` : withOrders.length === 0 ? 'no service has `previews` in its orders' : `no branch to preview (${withOrders.join(', ')})`;
      ctx.out(`${none}\n`);
      return 0;
    }
    const lines = [table([['SERVICE', 'BRANCH', 'COMMIT', 'STATE', 'AGE', 'URL'], ...rows.map((p) => [p.service, p.branch, p.sha.slice(0, 7), p.state, ageText(p.age), [p.url ?? '-', ...p.hostUrls].join(' ')])])];
    for (const p of rows) if (p.message) lines.push(`${p.service} ${p.branch}: ${p.message}`);
    const problems = s.problems.filter((p) => / previews: /.test(p) && (service === undefined || p.startsWith(`${service}: `)));
    if (problems.length > 0) lines.push('', ...problems);
    ctx.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
