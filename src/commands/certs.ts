import { tlsPaths } from '../data-dir/tls-paths.js';
import { certificateNames } from '../tls/cert-names.js';
import { certInfo, readPair } from '../tls/cert-files.js';
import { readCertStatus } from '../tls/cert-status.js';
import type { ShipCommand } from './command.js';
import { certsMeta } from './meta/ship-meta.js';

function table(rows: readonly string[][]): string {
  const widths = rows[0]?.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length))) ?? [];
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

interface CertRow {
  readonly name: string;
  readonly source: 'hq' | 'acme' | null;
  readonly issuer: string | null;
  readonly notAfter: string | null;
  readonly serial: string | null;
  readonly lastIssuedAt: string | null;
  readonly nextAttemptAt: string | null;
  readonly failures: number;
  readonly lastError: string | null;
  readonly lastErrorAt: string | null;
}

/** The certificate each name is served with, where it came from, and how its last ACME attempt went. */
export const certsCommand: ShipCommand = {
  ...certsMeta,
  async run(args, ctx) {
    const json = args.includes('--json');
    if (args.some((a) => a !== '--json')) {
      ctx.err('usage: starphleet certs [--json]\n');
      return 2;
    }
    const dataDir = ctx.ship.options.dataDir;
    const status = readCertStatus(dataDir);
    const desired = ctx.ship.headquarters.current;
    const names = new Set([...(desired ? certificateNames(desired) : []), ...(desired?.ssl?.certs.map((c) => c.name) ?? []), ...Object.keys(status)]);
    const rows: CertRow[] = [...names].sort().map((name) => {
      const s = status[name];
      const served = readPair(tlsPaths.serve(dataDir), name);
      let info: ReturnType<typeof certInfo> | null = null;
      try {
        info = served ? certInfo(served.cert) : null;
      } catch {
        info = null;
      }
      return {
        name,
        source: served ? (s?.source ?? null) : null,
        issuer: info?.issuer ?? null,
        notAfter: info ? new Date(info.notAfter).toISOString() : null,
        serial: info?.serial ?? null,
        lastIssuedAt: s?.lastIssuedAt ?? null,
        nextAttemptAt: s?.source === 'hq' ? null : (s?.nextAttemptAt ?? null),
        failures: s?.failures ?? 0,
        lastError: s?.lastError ?? null,
        lastErrorAt: s?.lastErrorAt ?? null,
      };
    });
    if (json) {
      ctx.out(`${JSON.stringify(rows, null, 2)}\n`);
      return 0;
    }
    if (rows.length === 0) {
      ctx.out('no certificates: no proxy_for name, no STARPHLEET_HOSTNAME and nothing in HQ ssl/\n');
      return 0;
    }
    const short = (t: string | null): string => (t ? t.replace(/\.\d+Z$/, 'Z') : '-');
    const out = [['NAME', 'SOURCE', 'ISSUER', 'EXPIRES', 'NEXT ATTEMPT', 'LAST ERROR']];
    for (const r of rows) {
      out.push([r.name, r.source ?? 'none', r.issuer ?? '-', short(r.notAfter), short(r.nextAttemptAt), r.lastError ? `${short(r.lastErrorAt)} (${r.failures} in a row): ${r.lastError}` : '-']);
    }
    ctx.out(`${table(out)}\n`);
    return 0;
  },
};
