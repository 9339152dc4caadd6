import { latestAudit, type AuditEntry } from '../state/audit.js';
import { authFailureTotal, latestAuthFailures, type AuthFailureRow } from '../state/auth-failures.js';
import type { ShipCommand } from './command.js';
import { auditMeta } from './meta/ship-meta.js';

const USAGE = 'usage: starphleet audit [-n COUNT] [--failures] [--json]';

function describe(e: AuditEntry): string {
  const who = `${e.user}${e.fingerprint ? ` ${e.fingerprint}` : ''}${e.keyFile ? ` (${e.keyFile})` : ''} from ${e.remote}`;
  if (e.kind === 'auth') return `${e.at}  auth  ${e.ok ? 'accepted' : 'refused'}  ${who}${e.message ? `: ${e.message}` : ''}`;
  if (e.kind === 'deny') return `${e.at}  deny  ${who}: ${e.command ?? ''}: ${e.message}`;
  if (e.kind === 'read') return `${e.at}  read  ${who}: ${JSON.stringify(e.command)} ${e.message}`;
  const what = e.kind === 'shell' ? `shell${e.pty ? ' (pty)' : ''}` : e.kind === 'sftp' ? 'sftp' : `${e.kind}${e.pty ? ' (pty)' : ''} ${JSON.stringify(e.command)}`;
  const end =
    e.durationMs === null ? 'running' : `${e.signal !== null ? `signal ${e.signal}` : `exit ${e.exitCode}`} after ${(e.durationMs / 1000).toFixed(1)}s`;
  return `${e.at}  ${e.kind}  ${who}: ${what} -> ${end}`;
}

function describeFailure(f: AuthFailureRow): string {
  return `${f.minute}  ${f.count}x  ${f.user}${f.fingerprint ? ` ${f.fingerprint}` : ''} from ${f.remote} (${f.method}): ${f.reason}`;
}

/**
 * The SSH audit trail, newest first: admirals' logins, commands and how they ended, and the requests the gate denied.
 * Failed authentications before login are counted apart (per minute, address, user and key): a summary line here,
 * the rows with --failures. It is reachable only through the ship's control socket, which is the data dir owner's:
 * locally that owner, over SSH an admiral's shell.
 */
export const auditCommand: ShipCommand = {
  ...auditMeta,
  async run(args, ctx) {
    let count = 50;
    let json = false;
    let failures = false;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '--json') json = true;
      else if (a === '--failures') failures = true;
      else if (a === '-n' && /^\d+$/.test(args[i + 1] ?? '') && Number(args[i + 1]) > 0) count = Math.min(Number(args[++i]), 10_000);
      else {
        ctx.err(`starphleet audit: bad argument ${JSON.stringify(a)}${a === '-n' ? ' (needs a positive count)' : ''}\n${USAGE}\n`);
        return 2;
      }
    }
    const { db } = ctx.ship;
    if (failures) {
      const rows = latestAuthFailures(db, count);
      if (json) ctx.out(`${JSON.stringify(rows, null, 2)}\n`);
      else ctx.out(rows.length === 0 ? 'no failed authentications\n' : `${rows.map(describeFailure).join('\n')}\n`);
      return 0;
    }
    const entries = latestAudit(db, count);
    if (json) {
      ctx.out(`${JSON.stringify(entries, null, 2)}\n`);
      return 0;
    }
    ctx.out(entries.length === 0 ? 'no audit entries\n' : `${entries.map(describe).join('\n')}\n`);
    const day = authFailureTotal(db, new Date(Date.now() - 86_400_000).toISOString());
    if (day > 0) ctx.out(`${day} failed authentications in the last 24 hours (starphleet audit --failures)\n`);
    return 0;
  },
};
