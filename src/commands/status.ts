import { statusJson } from '../agent/status-json.js';
import { visible } from '../util/terminal-safe.js';
import type { ShipCommand } from './command.js';
import { ageText } from './previews.js';
import { describeContact } from '../headquarters/contact.js';
import { describeTraffic } from '../agent/traffic/status.js';
import { statusMeta } from './meta/service-meta.js';

function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

export const statusCommand: ShipCommand = {
  ...statusMeta,
  async run(args, ctx) {
    const json = args.includes('--json');
    const unknown = args.filter((a) => a !== '--json');
    if (unknown.length > 0) {
      ctx.err(`starphleet status: unknown argument ${unknown[0]}\nusage: starphleet status [--json]\n`);
      return 2;
    }
    const s = statusJson(ctx.ship.db, ctx.ship.options.name, ctx.ship.headquarters.url);
    if (json) {
      ctx.out(`${JSON.stringify(s, null, 2)}\n`);
      return 0;
    }
    const lines = [
      `ship ${s.ship.name} (starphleet ${s.ship.version})`,
      `headquarters ${s.ship.headquarters.url} at ${s.ship.headquarters.sha?.slice(0, 7) ?? '(not synced yet)'}: ${describeContact(s.ship.headquarters.contact)}`,
      `network ${s.ship.network ?? "unknown"}`,
      ...(s.ship.tags.length > 0 ? [`tags ${s.ship.tags.join(' ')}`] : []),
      `data dir ${s.ship.dataDir ? `${(s.ship.dataDir.bytes / 1048576).toFixed(1)} MiB (measured ${s.ship.dataDir.at})` : '(not measured yet)'}`,
      '',
    ];
    // Previews are services of their own, shown apart (starphleet previews has them whole).
    const previews = new Set(s.previews.map((p) => p.name));
    const production = s.services.filter((v) => !previews.has(v.name));
    if (production.length === 0) lines.push('no services');
    else {
      const rows = [['SERVICE', 'MOUNT', 'STATE', 'SHA', 'RELEASE', 'PROCESSES', 'URL']];
      for (const v of production) {
        const procs = Object.entries(v.processes).map(([t, n]) => `${t}=${n}`).join(',') || '-';
        rows.push([v.name, v.mount, v.state, v.sha?.slice(0, 7) ?? '-', `${v.release ?? '-'}${v.pin ? ' (pinned)' : ''}`, procs, v.url ?? '-']);
      }
      lines.push(table(rows));
      for (const v of production) if (v.message) lines.push(`${v.name}: ${v.message}`);
      for (const v of production) if (v.traffic) lines.push(`${v.name}: ${describeTraffic(v.traffic, v.release)}`);
    }
    if (s.previews.length > 0) lines.push('', 'previews:', ...s.previews.map((p) => `  ${p.service} ${p.branch}  ${p.state}  ${p.sha.slice(0, 7)}  ${ageText(p.age)}  ${p.url ?? p.message}`));
    if (s.data.length > 0) lines.push('', 'data:', ...s.data.map((d) => `  /var/data/${d.path}  ${d.state}  ${d.sha?.slice(0, 7) ?? '-'}  ${d.giturl}${d.message ? `  ${d.message}` : ''}`));
    if (s.problems.length > 0) lines.push('', 'problems:', ...s.problems.map((p) => `  ${p}`));
    // Messages quote a service's output (a failed start's last lines): shown, not acted on by the terminal.
    ctx.out(`${visible(lines.join('\n'))}\n`);
    return 0;
  },
};
