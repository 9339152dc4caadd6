import { createHmac, randomBytes } from 'node:crypto';
import type { AuthBackoff } from './backoff.js';
import type { HashChecks } from './hash-checks.js';
import type { WireUser } from '../protocol/wire.js';

/** The user and password of an `Authorization: Basic ...` header, or null. */
export function basicCredentials(header: string | undefined): { user: string; password: Buffer } | null {
  if (!header) return null;
  const m = /^\s*basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1] as string, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return null;
  return { user: decoded.subarray(0, colon).toString('utf8'), password: decoded.subarray(colon + 1) };
}

/** A bcrypt hash of nothing anyone knows (cost 5, a common htpasswd -B cost): checked for unknown users. */
const UNKNOWN_USER_HASH = '$2y$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBwi';

const CACHE_MAX = 1024;

export type AuthVerdict = { readonly ok: true } | { readonly ok: false; readonly status: 401 | 429 | 503; readonly retryAfter?: number };

const OK: AuthVerdict = { ok: true };
const DENIED: AuthVerdict = { ok: false, status: 401 };

/**
 * HTTP basic auth of one service from its .htpasswd. Hashes are checked on worker threads (HashChecks); an address
 * with repeated failures waits (AuthBackoff) and is answered 429 without a check. Accepted credentials are cached under
 * an HMAC of the header with a key of this process (so the cache holds no password): a client that keeps sending the
 * same header costs one bcrypt, not one per request.
 */
export class BasicAuth {
  private readonly accepted = new Map<string, true>();
  private readonly key = randomBytes(32);

  constructor(
    readonly users: readonly WireUser[],
    readonly realm: string,
    private readonly service: string,
    private readonly checks: HashChecks,
    private readonly backoff: AuthBackoff,
  ) {}

  get challenge(): string {
    return `Basic realm="${this.realm.replace(/["\\]/g, '')}", charset="UTF-8"`;
  }

  async check(header: string | undefined, address: string): Promise<AuthVerdict> {
    const creds = basicCredentials(header);
    if (!creds || header === undefined) return DENIED;
    const id = createHmac('sha256', this.key).update(header).digest('base64');
    if (this.accepted.has(id)) return OK;
    const wait = this.backoff.waiting(address);
    if (wait > 0) return { ok: false, status: 429, retryAfter: wait };
    let ok = false;
    const mine = this.users.filter((e) => e.user === creds.user);
    // An unknown user costs a hash check too, so the time to a 401 does not tell which users exist.
    for (const e of mine.length > 0 ? mine : [{ user: '', hash: UNKNOWN_USER_HASH }]) {
      const r = await this.checks.check(e.hash, creds.password);
      if (r === 'busy') return { ok: false, status: 503, retryAfter: 1 };
      if (r && mine.length > 0) ok = true;
    }
    if (!ok) {
      this.backoff.failed(address, this.service);
      return DENIED;
    }
    this.backoff.succeeded(address);
    if (this.accepted.size >= CACHE_MAX) this.accepted.delete(this.accepted.keys().next().value as string);
    this.accepted.set(id, true);
    return OK;
  }
}
