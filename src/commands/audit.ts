import { latestAudit, type AuditEntry } from '../state/audit.js';
import type { ShipCommand } from './command.js';

const USAGE = 'usage: starphleet audit [-n COUNT] [--json]';

function describe(e: AuditEntry): string {
  const who = `${e.user}${e.fingerprint ? ` ${e.fingerprint}` : ''}${e.keyFile ? ` (${e.keyFile})` : ''} from ${e.remote}`;
  if (e.kind === 'auth') return `${e.at}  auth  ${e.ok ? 'accepted' : 'refused'}  ${who}${e.message ? `: ${e.message}` : ''}`;
  const what = e.kind === 'shell' ? `shell${e.pty ? ' (pty)' : ''}` : `exec${e.pty ? ' (pty)' : ''} ${JSON.stringify(e.command)}`;
  const end =
    e.durationMs === null ? 'running' : `${e.signal !== null ? `signal ${e.signal}` : `exit ${e.exitCode}`} after ${(e.durationMs / 1000).toFixed(1)}s`;
  return `${e.at}  ${e.kind}  ${who}: ${what} -> ${end}`;
}

/**
 * The SSH audit trail (logins, refused attempts, commands and how they ended), newest first. It is reachable only
 * through the ship's control socket, which is the data dir owner's: locally that owner, over SSH an admiral's shell.
 */
export const auditCommand: ShipCommand = {
  name: 'audit',
  summary: 'latest SSH logins, refused attempts and commands with their exit status',
  usage: '[-n COUNT] [--json]',
  async run(args, ctx) {
    let count = 50;
    let json = false;
    for (let i = 0; i < args.length; i++) {
      const a = args[i];
      if (a === '--json') json = true;
      else if (a === '-n' && /^\d+$/.test(args[i + 1] ?? '') && Number(args[i + 1]) > 0) count = Math.min(Number(args[++i]), 10_000);
      else {
        ctx.err(`starphleet audit: bad argument ${JSON.stringify(a)}${a === '-n' ? ' (needs a positive count)' : ''}\n${USAGE}\n`);
        return 2;
      }
    }
    const entries = latestAudit(ctx.ship.db, count);
    if (json) ctx.out(`${JSON.stringify(entries, null, 2)}\n`);
    else ctx.out(entries.length === 0 ? 'no audit entries\n' : `${entries.map(describe).join('\n')}\n`);
    return 0;
  },
};
