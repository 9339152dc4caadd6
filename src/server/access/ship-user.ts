import type { SshRequest, Verdict } from './gate.js';
import { phleetExec } from './phleet-exec.js';

/**
 * The `ship` user: the other ships of the phleet. A separate extension of the gate (gate.ts calls shipVerdict for
 * this user only), so nothing here widens what admirals, git or update may do.
 * Its keys: ship-keys.ts.
 */

/**
 * Hook for the phleet operations (#20): exec commands another ship may run here, each decided by this function.
 * phleet-exec.ts: status --json; logs and redeploy only with an admiral's signed request (--proof).
 */
export function phleetOperation(request: Extract<SshRequest, { kind: 'exec' }>): Verdict | null {
  return phleetExec(request.command);
}

/** What user `ship` may do: read-only SFTP of /registry/ and /layers/ (the view's 'ship' scope), nothing else. */
export function shipVerdict(request: SshRequest): Verdict {
  if (request.kind === 'sftp') return { allow: true, serve: request };
  if (request.kind === 'exec') {
    const v = phleetOperation(request);
    if (v !== null) return v;
  }
  return { allow: false, reason: `the ship user only reads the registry over sftp (/registry/, /layers/) and runs the phleet operations (starphleet status --json, starphleet sync; logs <service> [-f] and redeploy <service> only with an admiral's --proof), not ${request.kind === 'exec' ? JSON.stringify(request.command.slice(0, 200)) : request.kind}` };
}
