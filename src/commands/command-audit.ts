import { auditSessionEnd, auditSessionStart } from '../state/audit.js';
import type { CommandContext } from './command.js';

/**
 * Records a ship-changing command in the audit trail as it starts and with its exit code: over SSH the session is
 * audited too; a local call (the control socket) has only this row.
 */
export async function audited(ctx: CommandContext, argv: readonly string[], run: () => Promise<number>): Promise<number> {
  const who = ctx.caller.admiral;
  const id = auditSessionStart(ctx.ship.db, {
    kind: 'exec',
    user: who ? 'admiral' : 'local',
    fingerprint: who?.fingerprint ?? '',
    keyFile: who?.file ?? '',
    remote: ctx.caller.via === 'ssh' ? 'ssh' : 'control-socket',
    command: `starphleet ${argv.join(' ')}`,
    pty: false,
  });
  const t0 = Date.now();
  let code = 1;
  try {
    code = await run();
    return code;
  } finally {
    auditSessionEnd(ctx.ship.db, id, { exitCode: code, signal: null, durationMs: Date.now() - t0 });
  }
}

/** Who asked, for a pin's `by` and the deploy history's trigger: the admiral's key file and fingerprint over SSH. */
export function callerName(ctx: CommandContext): string {
  const who = ctx.caller.admiral;
  // The key's name is its file under authorized_keys/ (a key in two files: both names).
  const name = who?.file.split(' + ').map((f) => f.replace(/^authorized_keys\//, '')).join('+');
  return who ? `admiral ${name} ${who.fingerprint}` : 'local cli';
}
