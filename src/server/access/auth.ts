import ssh2 from 'ssh2';
import type { Admiral } from '../../headquarters/types.js';
import { admit, type GateIdentity } from './gate.js';

/**
 * Who a connection is: the user and key fixed at the moment its signed request was accepted. The grants (the key's
 * authorized_keys/ entries) are re-bound on every HQ change; the key and user never change.
 */
export interface Identity extends GateIdentity {
  readonly fingerprint: string;
  /** The first grant: names the key in logs and the audit. */
  readonly admiral: Admiral;
  /** Every file that holds the key, for the audit. */
  readonly keyFile: string;
}

export function identityOf(user: string, grants: readonly Admiral[], remoteAddress: string): Identity {
  const first = grants[0];
  if (!first) throw new Error('an identity needs at least one authorized_keys entry');
  return { user, grants, remoteAddress, fingerprint: first.fingerprint, admiral: first, keyFile: grants.map((g) => g.file).join(' + ') };
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
  /** ssh2: 'sha256'/'sha512' for rsa-sha2-256/512, undefined for ssh-rsa (SHA-1) and non-RSA keys. */
  readonly hashAlgo?: string;
}

export type AuthDecision =
  | { readonly kind: 'probe-ok'; readonly admiral: Admiral }
  | { readonly kind: 'accept'; readonly identity: Identity }
  | { readonly kind: 'reject'; readonly reason: string; readonly admiral?: Admiral };

/** The admirals of the HQ commit in force, looked up by key blob (one key may be in several files). Empty until the first HQ sync. */
export class AdmiralKeys {
  private byBlob = new Map<string, Admiral[]>();

  replace(admirals: readonly Admiral[]): void {
    const next = new Map<string, Admiral[]>();
    for (const a of admirals) {
      const k = a.blob.toString('base64');
      next.set(k, [...(next.get(k) ?? []), a]);
    }
    this.byBlob = next;
  }

  /** Every authorized_keys/ entry of this key (empty when it is not an admiral). */
  find(blob: Buffer): readonly Admiral[] {
    return this.byBlob.get(blob.toString('base64')) ?? [];
  }

  get size(): number {
    return this.byBlob.size;
  }
}

/** RSA signatures must be SHA-2: ssh2 names the hash for rsa-sha2-256/512 and none for ssh-rsa (SHA-1). */
function rsaHashRefused(req: AuthRequest): boolean {
  return req.key?.algo === 'ssh-rsa' && req.hashAlgo !== 'sha256' && req.hashAlgo !== 'sha512';
}

/**
 * Publickey only. A signed request is accepted only when the key is an admiral's, the gate admits it (from= of every
 * file that holds it, no conflicting command=), the user is one this ship serves, AND the signature verifies: ssh2
 * leaves the last check to the server, and skipping it lets in anyone who merely knows an admiral's public key.
 */
export function decideAuth(req: AuthRequest, remoteAddress: string, keys: AdmiralKeys, users: ReadonlySet<string>): AuthDecision {
  if (req.method !== 'publickey' || !req.key) return { kind: 'reject', reason: `method ${req.method} not offered` };
  const grants = keys.find(req.key.data);
  const admiral = grants[0];
  if (!users.has(req.username)) return { kind: 'reject', reason: `no such user ${JSON.stringify(req.username.slice(0, 64))}`, ...(admiral ? { admiral } : {}) };
  if (!admiral) return { kind: 'reject', reason: 'key is not an admiral' };
  if (rsaHashRefused(req)) return { kind: 'reject', reason: 'ssh-rsa (SHA-1) signatures are refused: use rsa-sha2-256 or rsa-sha2-512', admiral };
  const admitted = admit(grants, remoteAddress);
  if (!admitted.ok) return { kind: 'reject', reason: admitted.reason, admiral };
  if (!req.signature) return { kind: 'probe-ok', admiral };
  const parsed = ssh2.utils.parseKey(req.key.data);
  if (parsed instanceof Error) return { kind: 'reject', reason: `unreadable key: ${parsed.message}`, admiral };
  if (!req.blob || parsed.verify(req.blob, req.signature, req.hashAlgo) !== true) {
    return { kind: 'reject', reason: 'bad signature', admiral };
  }
  return { kind: 'accept', identity: identityOf(req.username, grants, remoteAddress) };
}
