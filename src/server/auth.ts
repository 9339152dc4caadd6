import ssh2 from 'ssh2';
import { fromAllows, parseFromPatterns } from '../headquarters/from-pattern.js';
import type { Admiral } from '../headquarters/types.js';

/** Who a connection is, fixed at the moment its signed request was accepted; nothing later can change it. */
export interface Identity {
  readonly user: string;
  readonly admiral: Admiral;
}

/** The parts of an ssh2 auth request the decision needs (kept plain so the decision is testable without a socket). */
export interface AuthRequest {
  readonly username: string;
  readonly method: string;
  /** publickey only: the offered key's algorithm name and public blob. */
  readonly key?: { readonly algo: string; readonly data: Buffer };
  /** publickey only: present when the client signed (a real attempt); absent for a probe ("would you accept this key?"). */
  readonly signature?: Buffer;
  /** The session-bound data the signature covers, built by ssh2. */
  readonly blob?: Buffer;
  readonly hashAlgo?: string;
}

export type AuthDecision =
  | { readonly kind: 'probe-ok'; readonly admiral: Admiral }
  | { readonly kind: 'accept'; readonly identity: Identity }
  | { readonly kind: 'reject'; readonly reason: string; readonly admiral?: Admiral };

/** The admirals of the HQ commit in force, looked up by key blob. Empty until the first HQ sync: nobody gets in. */
export class AdmiralKeys {
  private byBlob = new Map<string, Admiral>();

  /** Replaces the set; returns the admirals of the old set that are gone or whose options changed. */
  replace(admirals: readonly Admiral[]): Admiral[] {
    const next = new Map(admirals.map((a) => [a.blob.toString('base64'), a]));
    const dropped = [...this.byBlob.entries()]
      .filter(([blob, old]) => {
        const now = next.get(blob);
        return !now || JSON.stringify(now.restrictions) !== JSON.stringify(old.restrictions);
      })
      .map(([, a]) => a);
    this.byBlob = next;
    return dropped;
  }

  find(blob: Buffer): Admiral | undefined {
    return this.byBlob.get(blob.toString('base64'));
  }

  /** True while this exact admiral entry (same key, same options) is still in force. */
  stillValid(admiral: Admiral): boolean {
    const now = this.find(admiral.blob);
    return now !== undefined && JSON.stringify(now.restrictions) === JSON.stringify(admiral.restrictions);
  }

  get size(): number {
    return this.byBlob.size;
  }
}

/**
 * Publickey only. A signed request is accepted only when the key is an admiral's, the admiral's from= allows the
 * client address, the user is one this ship serves, AND the signature verifies: ssh2 leaves the last check to the
 * server, and skipping it lets in anyone who merely knows an admiral's public key.
 */
export function decideAuth(req: AuthRequest, remoteAddress: string, keys: AdmiralKeys, users: ReadonlySet<string>): AuthDecision {
  if (req.method !== 'publickey' || !req.key) return { kind: 'reject', reason: `method ${req.method} not offered` };
  const admiral = keys.find(req.key.data);
  if (!users.has(req.username)) return { kind: 'reject', reason: `no such user ${JSON.stringify(req.username.slice(0, 64))}`, ...(admiral ? { admiral } : {}) };
  if (!admiral) return { kind: 'reject', reason: 'key is not an admiral' };
  if (admiral.restrictions.from !== undefined) {
    const patterns = parseFromPatterns(admiral.restrictions.from);
    // keys.ts refuses a key with a bad from= list, so an error here means a bug: fail closed all the same.
    if ('error' in patterns || !fromAllows(patterns, remoteAddress)) {
      return { kind: 'reject', reason: `from= does not allow ${remoteAddress}`, admiral };
    }
  }
  if (!req.signature) return { kind: 'probe-ok', admiral };
  const parsed = ssh2.utils.parseKey(req.key.data);
  if (parsed instanceof Error) return { kind: 'reject', reason: `unreadable key: ${parsed.message}`, admiral };
  if (!req.blob || parsed.verify(req.blob, req.signature, req.hashAlgo) !== true) {
    return { kind: 'reject', reason: 'bad signature', admiral };
  }
  return { kind: 'accept', identity: { user: req.username, admiral } };
}
