import { getPin, listDeployRecords, type DeployRecord } from '../state/deploys.js';
import { listServiceStatus } from '../state/services.js';
import { redactCredentials } from '../redact.js';
import type { ShipCommand } from './command.js';
import { previewStatus } from '../agent/previews/status-rows.js';

function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** The retained releases of a service (newest first) with how their last deploy went, and its failed deploys. */
export const releasesCommand: ShipCommand = {
  name: 'releases',
  summary: 'retained releases of a service and its failed deploys, with what triggered them',
  usage: '<service> [--json]',
  details: `One line per retained release, newest first: id, git sha, when it was built, the result of its last deploy
(serving, failed, cancelled), what triggered it (a new sha, redeploy, rollback...). * marks the release that
serves now, (pinned) a rollback pin. Then the failed deploys the ship remembers, with their reason. Previews of the
service (docs/previews.md) are listed apart: each is a service of its own (releases <service>--<slug>).
  --json   { service, serving, pin, releases: [{id, sha, builtAt, result, trigger}], failed: [{at, sha, release, trigger, reason}],
           preview: {service, branch} | null, previews: [{name, branch, sha, state, release}] }`,
  examples: ['starphleet releases hello', 'ssh -p 2222 admiral@ship starphleet releases hello --json'],
  async run(args, ctx) {
    const json = args.includes('--json');
    const rest = args.filter((a) => a !== '--json');
    const [service] = rest;
    if (service === undefined || rest.length !== 1 || service.startsWith('-')) {
      ctx.err('usage: starphleet releases <service> [--json]\n');
      return 2;
    }
    const agent = ctx.ship.agent.ctx;
    const all = listServiceStatus(ctx.ship.db);
    const status = all.find((s) => s.name === service);
    if (!status) {
      ctx.err(`starphleet releases: no service named ${service}\n`);
      return 1;
    }
    const records = listDeployRecords(ctx.ship.db, service);
    const lastOf = (id: string): DeployRecord | undefined => records.find((d) => d.release === id && d.result !== 'running');
    const releases = (await agent.build.listReleases(agent.dataDir, service)).reverse().map((r) => {
      const d = lastOf(r.config.id);
      return { id: r.config.id, sha: r.config.sha, builtAt: r.config.createdAt, result: d?.result ?? 'unknown', trigger: d?.trigger ?? '' };
    });
    const failed = records.filter((d) => d.result === 'failed').map((d) => ({ at: d.at, sha: d.sha, release: d.release, trigger: d.trigger, reason: redactCredentials(d.reason) }));
    const pin = getPin(ctx.ship.db, service);
    const serving = status.release;
    const previewRows = previewStatus(ctx.ship.db, all);
    const of = previewRows.find((p) => p.name === service);
    const preview = of ? { service: of.service, branch: of.branch } : null;
    const previews = previewRows.filter((p) => p.service === service).map((p) => ({ name: p.name, branch: p.branch, sha: p.sha, state: p.state, release: p.release }));
    if (json) {
      ctx.out(`${JSON.stringify({ service, serving, pin, releases, failed, preview, previews }, null, 2)}\n`);
      return 0;
    }
    const rows = [['', 'RELEASE', 'SHA', 'BUILT', 'RESULT', 'TRIGGER']];
    for (const r of releases) rows.push([r.id === serving ? '*' : '', `${r.id}${pin?.release === r.id ? ' (pinned)' : ''}`, r.sha.slice(0, 7), r.builtAt.replace(/\.\d+Z$/, 'Z'), r.result, r.trigger]);
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
    ctx.out(`${lines.join('\n')}\n`);
    return 0;
  },
};
