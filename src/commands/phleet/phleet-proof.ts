import type { PhleetOp } from '../../phleet/request-proof.js';
import { verifyProof } from '../../phleet/verify-proof.js';
import { auditPhleetRequest } from '../../state/audit.js';
import type { CommandContext } from '../command.js';

/** `--proof <token>` taken out of a command's arguments (phleet-exec.ts only lets user ship run logs/redeploy with one). */
export function splitProof(args: readonly string[]): { args: string[]; proof?: string } {
  const i = args.indexOf('--proof');
  if (i < 0) return { args: [...args] };
  const proof = args[i + 1] ?? '';
  return { args: [...args.slice(0, i), ...args.slice(i + 2)], proof };
}

/**
 * Checks an admiral's signed request (src/phleet/verify-proof.ts) before a command serves another ship, and audits
 * the outcome either way. False after writing why it is refused.
 */
export async function admiralAsked(proof: string, op: PhleetOp, service: string, ctx: CommandContext): Promise<boolean> {
  const operation = `${op === 'redeploy' ? 'redeploy' : 'logs'} ${service}${op === 'logs-follow' ? ' -f' : ''}`;
  try {
    const p = await verifyProof(proof, op, service, ctx.ship.headquarters.current?.admirals ?? []);
    auditPhleetRequest(ctx.ship.db, { admiral: p.admiral, fingerprint: p.fingerprint, operation, nonce: p.nonce, ok: true });
    return true;
  } catch (e) {
    const reason = (e as Error).message;
    auditPhleetRequest(ctx.ship.db, { admiral: '', fingerprint: '', operation, nonce: '', ok: false, reason });
    ctx.err(`starphleet ${operation}: refused: ${reason} (another ship is served this only on an admiral's signed request)\n`);
    return false;
  }
}
