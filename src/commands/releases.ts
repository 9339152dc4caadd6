import { getPin, listDeployRecords, type DeployRecord } from '../state/deploys.js';
import { listServiceStatus } from '../state/services.js';
import { redactCredentials } from '../util/redact.js';
import { visible } from '../util/terminal-safe.js';
import type { ShipCommand } from './command.js';
import { previewStatus } from '../agent/previews/status-rows.js';
import { releasesMeta } from './meta/service-meta.js';

function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** What a retained release is now: serves (pinned there by a rollback, or not), served before, or never served. */
export type ReleaseState = 'serving' | 'pinned' | 'starting' | 'retired' | 'failed' | 'cancelled';

function stateOf(id: string, serving: string | null, pinned: string | undefined, records: readonly DeployRecord[]): ReleaseState {
  if (id === serving) return pinned === id ? 'pinned' : 'serving';
  const mine = records.filter((d) => d.release === id);
  if (mine.some((d) => d.result === 'running')) return 'starting';
  // Served once (or from before the deploy history): replaced since.
  if (mine.length === 0 || mine.some((d) => d.result === 'serving')) return 'retired';
  return mine.some((d) => d.result === 'failed') ? 'failed' : 'cancelled';
}

/** The retained releases of a service (newest first) with their state and who or what deployed them, and its failed deploys. */
export const releasesCommand: ShipCommand = {
  ...releasesMeta,
  async run(args, ctx) {
    const json = args.includes('--json');
    const rest = args.filter((a) => a !== '--json');
    const [service] = rest;
    if (service === undefined || rest.length !== 1 || service.startsWith('-')) {
      ctx.err('usage: starphleet releases <service> [--json]\n');
      return 2;
    }
    const all = listServiceStatus(ctx.ship.db);
    const status = all.find((s) => s.name === service);
    if (!status) {
      ctx.err(`starphleet releases: no service named ${service}\n`);
      return 1;
    }
    const records = listDeployRecords(ctx.ship.db, service);
    const pin = getPin(ctx.ship.db, service);
    const serving = status.release;
    const lastOf = (id: string): DeployRecord | undefined => records.find((d) => d.release === id && d.result !== 'running');
    const servedBy = (id: string): DeployRecord | undefined => records.find((d) => d.release === id && d.result === 'serving') ?? records.find((d) => d.release === id);
    const releases = (await ctx.ship.agent.retainedReleases(service)).reverse().map((r) => {
      const id = r.config.id;
      const d = lastOf(id);
      return { id, sha: r.config.sha, builtAt: r.config.createdAt, state: stateOf(id, serving, pin?.release, records), deployedBy: servedBy(id)?.trigger ?? '', result: d?.result ?? 'unknown', trigger: d?.trigger ?? '' };
    });
    const failed = records.filter((d) => d.result === 'failed').map((d) => ({ at: d.at, sha: d.sha, release: d.release, trigger: d.trigger, reason: redactCredentials(d.reason) }));
    const previewRows = previewStatus(ctx.ship.db, all);
    const of = previewRows.find((p) => p.name === service);
    const preview = of ? { service: of.service, branch: of.branch } : null;
    const previews = previewRows.filter((p) => p.service === service).map((p) => ({ name: p.name, branch: p.branch, sha: p.sha, state: p.state, release: p.release }));
    if (json) {
      ctx.out(`${JSON.stringify({ service, serving, pin, releases, failed, preview, previews }, null, 2)}\n`);
      return 0;
    }
    const rows = [['RELEASE', 'SHA', 'BUILT', 'STATE', 'DEPLOYED BY']];
    for (const r of releases) rows.push([r.id, r.sha.slice(0, 7), r.builtAt.replace(/\.\d+Z$/, 'Z'), r.state, r.deployedBy]);
    const lines = [...(preview ? [`${service}: the preview of ${preview.service} for ${preview.branch}`, ''] : []), releases.length > 0 ? table(rows) : `${service} has no retained release`];
    if (pin) lines.push('', `pinned to ${pin.release} since ${pin.at} by ${pin.by}: starphleet unpin ${service} (or a new commit) ends it`);
    if (failed.length > 0) {
      lines.push('', 'failed deploys:');
      for (const f of failed) lines.push(`  ${f.at.replace(/\.\d+Z$/, 'Z')} ${f.sha.slice(0, 7)}${f.release ? ` (${f.release})` : ''} [${f.trigger}]: ${f.reason}`);
    }
    if (previews.length > 0) {
      lines.push('', 'previews (each a service of its own: starphleet releases <name>):');
      for (const p of previews) lines.push(`  ${p.name}  ${p.branch}  ${p.sha.slice(0, 7)}  ${p.state}  ${p.release ?? '-'}`);
    }
    // Failure texts quote a service's own output: shown, not acted on by the terminal.
    ctx.out(`${visible(lines.join('\n'))}\n`);
    return 0;
  },
};
