import { randomBytes } from 'node:crypto';
import { ROLLOUT_COOKIE, ROLLOUT_ID, type WireMatch } from '../protocol/wire-traffic.js';

/**
 * Which side of a rollout a request goes to. The client's id (its rollout cookie, or a new random one the answer sets)
 * is hashed with the service's name by MurmurHash2 (seed 0), the hash nginx's split_clients uses, and compared with
 * the same split point nginx computes for "N%": both planes put one cookie on the same side, so a plane changed from
 * embedded to nginx (or back) keeps every client where it was. A forged cookie only picks among the two sides.
 */
export function murmurHash2(data: Buffer): number {
  const m = 0x5bd1e995;
  let len = data.length;
  let h = len >>> 0;
  let i = 0;
  while (len >= 4) {
    let k = ((data[i] as number) | ((data[i + 1] as number) << 8) | ((data[i + 2] as number) << 16) | ((data[i + 3] as number) << 24)) >>> 0;
    k = Math.imul(k, m) >>> 0;
    k = (k ^ (k >>> 24)) >>> 0;
    k = Math.imul(k, m) >>> 0;
    h = Math.imul(h, m) >>> 0;
    h = (h ^ k) >>> 0;
    i += 4;
    len -= 4;
  }
  // The tail bytes, as the C switch falls through from 3 to 1.
  if (len === 3) h = (h ^ ((data[i + 2] as number) << 16)) >>> 0;
  if (len >= 2) h = (h ^ ((data[i + 1] as number) << 8)) >>> 0;
  if (len >= 1) {
    h = (h ^ (data[i] as number)) >>> 0;
    h = Math.imul(h, m) >>> 0;
  }
  h = (h ^ (h >>> 13)) >>> 0;
  h = Math.imul(h, m) >>> 0;
  h = (h ^ (h >>> 15)) >>> 0;
  return h;
}

/** nginx's split point for `N%` (split_clients: percent in hundredths, times 0xffffffff / 10000, whole numbers). */
export function splitPoint(percent: number): number {
  return Number((BigInt(Math.round(percent * 100)) * 0xffffffffn) / 10000n);
}

/** The string both planes hash: the client's id and the service (nginx: `"${id}:<service>"`). */
export function rolloutKey(id: string, service: string): string {
  return `${id}:${service}`;
}

/** Whether a client id lands on the new side at this percent (0: never, 100: always). */
export function onNewSide(id: string, service: string, percent: number): boolean {
  if (percent <= 0) return false;
  if (percent >= 100) return true;
  return murmurHash2(Buffer.from(rolloutKey(id, service))) < splitPoint(percent);
}

/** A new client id: 32 hex characters, as nginx's $request_id. */
export function newRolloutId(): string {
  return randomBytes(16).toString('hex');
}

/** The value of one cookie in a Cookie header (the first of that name), or undefined. */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  const all = Array.isArray(header) ? header.join('; ') : (header ?? '');
  for (const part of all.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** The client's rollout id when its cookie holds a well-formed one, else undefined (it gets a new one). */
export function rolloutIdOf(cookieHeader: string | string[] | undefined): string | undefined {
  const v = cookieValue(cookieHeader, ROLLOUT_COOKIE);
  return v !== undefined && ROLLOUT_ID.test(v) ? v : undefined;
}

/** The Set-Cookie that keeps a new client on its side: a year, the whole site, not for scripts. */
export function rolloutSetCookie(id: string): string {
  return `${ROLLOUT_COOKIE}=${id}; Path=/; Max-Age=31536000; HttpOnly; SameSite=Lax`;
}

/** Whether a request carries one of the listed headers or cookies with its exact value (the new side's by name). */
export function listedForNew(headers: Readonly<Record<string, string | string[] | undefined>>, byHeader: readonly WireMatch[], byCookie: readonly WireMatch[]): boolean {
  for (const m of byHeader) {
    const v = headers[m.name.toLowerCase()];
    if (v !== undefined && (Array.isArray(v) ? v : [v]).some((x) => x.trim() === m.value)) return true;
  }
  for (const m of byCookie) if (cookieValue(headers.cookie, m.name) === m.value) return true;
  return false;
}
