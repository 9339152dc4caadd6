import { createHash } from 'node:crypto';

const ITOA64 = './0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';

function md5(...parts: Buffer[]): Buffer {
  const h = createHash('md5');
  for (const p of parts) h.update(p);
  return h.digest();
}

function to64(v: number, n: number): string {
  let out = '';
  for (let i = 0; i < n; i++) {
    out += ITOA64[v & 0x3f];
    v >>>= 6;
  }
  return out;
}

/**
 * Apache's MD5-crypt (`$apr1$salt$hash`, what `htpasswd -m` writes): FreeBSD md5crypt with the magic `$apr1$`, as in
 * apr_md5_encode (apr-util, crypto/apr_md5.c). No npm package for it is kept up well enough to rely on; this is the
 * algorithm step for step, checked against hashes made by the real htpasswd in the tests.
 */
export function apr1(password: Buffer, salt: string): string {
  const magic = Buffer.from('$apr1$');
  const s = Buffer.from(salt.slice(0, 8));
  const alt = md5(password, s, password);
  const parts: Buffer[] = [password, magic, s];
  for (let left = password.length; left > 0; left -= 16) parts.push(alt.subarray(0, Math.min(16, left)));
  for (let i = password.length; i > 0; i >>= 1) parts.push(i & 1 ? Buffer.of(0) : password.subarray(0, 1));
  let final = md5(...parts);
  for (let i = 0; i < 1000; i++) {
    const round: Buffer[] = [i & 1 ? password : final];
    if (i % 3) round.push(s);
    if (i % 7) round.push(password);
    round.push(i & 1 ? final : password);
    final = md5(...round);
  }
  const f = (i: number): number => final[i] as number;
  const hash =
    to64((f(0) << 16) | (f(6) << 8) | f(12), 4) +
    to64((f(1) << 16) | (f(7) << 8) | f(13), 4) +
    to64((f(2) << 16) | (f(8) << 8) | f(14), 4) +
    to64((f(3) << 16) | (f(9) << 8) | f(15), 4) +
    to64((f(4) << 16) | (f(10) << 8) | f(5), 4) +
    to64(f(11), 2);
  return `$apr1$${s.toString()}$${hash}`;
}
