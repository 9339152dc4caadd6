import type { ServerChannel } from 'ssh2';
import type { Admiral } from '../../headquarters/types.js';
import type { Logger } from '../../log.js';
import { auditDeny } from '../../state/audit.js';
import type { Db } from '../../state/db.js';
import { identityOf, type Identity } from './auth.js';
import { admit, authorize, describeRequest, sameOutcome, type SshRequest, type Verdict } from './gate.js';
import { finishChannel } from '../sessions/process-end.js';

interface Held {
  readonly request: SshRequest;
  readonly verdict: Verdict;
  readonly close: (reason: string) => void;
}

/**
 * The gate as one connection sees it: the current identity, every request judged (denies audited and logged), and
 * the requests being served, judged again on every HQ change so new key options close what they no longer allow.
 */
export class ConnectionGate {
  private current: Identity;
  private readonly held = new Set<Held>();

  constructor(identity: Identity, private readonly db: Db, private readonly log: Logger) {
    this.current = identity;
  }

  get identity(): Identity {
    return this.current;
  }

  /** The gate's verdict on a request; a deny is audited with its reason. */
  authorize(request: SshRequest): Verdict {
    const verdict = authorize(this.current, request);
    if (!verdict.allow) this.recordDeny(request, verdict.reason);
    return verdict;
  }

  /** Keeps an allowed request under watch while it is served; returns its release. */
  hold(request: SshRequest, verdict: Verdict, close: (reason: string) => void): () => void {
    const h: Held = { request, verdict, close };
    this.held.add(h);
    return () => this.held.delete(h);
  }

  /**
   * HQ changed: the key's entries are now `grants` (empty if it is gone). Every held request is judged again and
   * closed unless it would be served exactly as before. Returns false when the key admits nothing any more.
   */
  rebind(grants: readonly Admiral[]): boolean {
    const before = this.current;
    if (grants.length > 0) this.current = identityOf(before.user, grants, before.remoteAddress);
    for (const h of [...this.held]) {
      const now = grants.length > 0 ? authorize(this.current, h.request) : ({ allow: false, reason: 'key is no longer an admiral' } as const);
      if (sameOutcome(h.verdict, now)) continue;
      const reason = now.allow ? `the key's options in HQ changed what it would run` : now.reason;
      this.held.delete(h);
      this.recordDeny(h.request, `closed after an HQ change: ${reason}`);
      h.close(reason);
    }
    return admit(grants, before.remoteAddress).ok;
  }

  private recordDeny(request: SshRequest, reason: string): void {
    const id = this.current;
    auditDeny(this.db, { user: id.user, fingerprint: id.fingerprint, keyFile: id.keyFile, remote: id.remoteAddress, request: describeRequest(request), reason });
    this.log(`ssh ${id.user} ${id.fingerprint} (${id.keyFile}) from ${id.remoteAddress}: denied ${describeRequest(request)}: ${reason}`);
  }
}

/** Where the client can show one: the deny as one line on stderr, exit status 1, channel closed. */
export function refuseOnChannel(channel: ServerChannel, reason: string): void {
  channel.on('error', () => {});
  channel.stderr.on('error', () => {});
  if (channel.writable) channel.stderr.write(`starphleet: denied: ${reason}\n`);
  finishChannel(channel, { exitCode: 1, signal: null });
}
