import type { SshRequest, Verdict } from './gate.js';

/**
 * The `ship` user: the other ships of the phleet. A separate extension of the gate (gate.ts calls shipVerdict for
 * this user only), so nothing here widens what admirals, git or update may do.
 * Its keys: ship-keys.ts.
 */

/**
 * Hook for the phleet operations (#20): exec commands another ship may run here, each decided by this function.
 * None yet: until the phleet fan-out defines its commands, a ship may only read the registry.
 */
export function phleetOperation(request: Extract<SshRequest, { kind: 'exec' }>): Verdict | null {
  void request;
  return null;
}

/** What user `ship` may do: read-only SFTP of /registry/ and /layers/ (the view's 'ship' scope), nothing else. */
export function shipVerdict(request: SshRequest): Verdict {
  if (request.kind === 'sftp') return { allow: true, serve: request };
  if (request.kind === 'exec') {
    const v = phleetOperation(request);
    if (v !== null) return v;
  }
  return { allow: false, reason: `the ship user only reads the registry over sftp (/registry/, /layers/), not ${request.kind}` };
}
