import { createHash, timingSafeEqual } from 'node:crypto';
import bcrypt from 'bcryptjs';
import { htpasswdHashKind } from '../../headquarters/htpasswd.js';
import { apr1 } from './apr1.js';

/** Equal strings in time that depends on their length only. */
function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

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
