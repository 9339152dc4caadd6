import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { htpasswdHashKind } from '../headquarters/htpasswd.js';
import type { HtpasswdFile } from '../headquarters/types.js';
import { apr1 } from './apr1.js';

/** Equal strings in time that depends on their length only. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** A bcrypt hash of nothing anyone knows (cost 5, a common htpasswd -B cost): checked for unknown users. */
const UNKNOWN_USER_HASH = '$2y$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBwi';

/** Checks one password against one htpasswd hash; an unknown format never matches (fail closed). */
export async function verifyHash(hash: string, password: Buffer): Promise<boolean> {
  switch (htpasswdHashKind(hash)) {
    case 'bcrypt':
      // bcryptjs compares the digests in constant time; it takes the password as a string (UTF-8, like htpasswd's argv).
      return bcrypt.compare(password.toString('utf8'), hash);
    case 'apr1':
      return sameText(apr1(password, hash.split('$')[2] ?? ''), hash);
    case 'sha1':
      return sameText(`{SHA}${createHash('sha1').update(password).digest('base64')}`, hash);
    default:
      return false;
  }
}

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

const CACHE_MAX = 1024;

/**
 * HTTP basic auth of one service from its .htpasswd (as HQ parsed it). A new HQ commit makes a new BasicAuth, so its
 * cache of accepted credentials goes with the old file. The cache is keyed by an HMAC of the header under a key of this
 * process, so it holds no password, and spares a bcrypt per request of a client that keeps sending the same header.
 */
export class BasicAuth {
  private readonly accepted = new Map<string, true>();
  private readonly key = randomBytes(32);

  constructor(
    readonly file: HtpasswdFile,
    readonly realm: string,
  ) {}

  get challenge(): string {
    return `Basic realm="${this.realm.replace(/["\\]/g, '')}", charset="UTF-8"`;
  }

  async check(header: string | undefined): Promise<boolean> {
    const creds = basicCredentials(header);
    if (!creds || header === undefined) return false;
    const id = createHmac('sha256', this.key).update(header).digest('base64');
    if (this.accepted.has(id)) return true;
    let ok = false;
    const mine = this.file.entries.filter((e) => e.user === creds.user);
    for (const e of mine) if (await verifyHash(e.hash, creds.password)) ok = true;
    // An unknown user costs a hash check too, so the time to a 401 does not tell which users exist.
    if (mine.length === 0) await verifyHash(UNKNOWN_USER_HASH, creds.password);
    if (ok) {
      if (this.accepted.size >= CACHE_MAX) this.accepted.delete(this.accepted.keys().next().value as string);
      this.accepted.set(id, true);
    }
    return ok;
  }
}
