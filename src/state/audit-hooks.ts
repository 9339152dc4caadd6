/**
 * What the audit records, told as it is recorded to whoever counts (the ship's Prometheus metrics): logins and failed
 * authentications by user, and SFTP bytes. A listener must be cheap and must not throw; errors are swallowed so an
 * audit write never fails because of a counter.
 */
export type AuditTally =
  | { readonly kind: 'auth'; readonly user: string; readonly ok: boolean }
  | { readonly kind: 'sftp-bytes'; readonly user: string; readonly direction: 'read' | 'write'; readonly bytes: number };

const listeners = new Set<(t: AuditTally) => void>();

/** Returns how to stop listening. */
export function onAuditTally(fn: (t: AuditTally) => void): () => void {
  listeners.add(fn);
  return () => listeners.delete(fn);
}

export function tallyAudit(t: AuditTally): void {
  for (const l of listeners) {
    try {
      l(t);
    } catch {
      // A counter is never worth a failed audit.
    }
  }
}
