import type { HtpasswdEntry, Problem } from './types.js';

/** Hash formats `htpasswd` from apache2-utils writes and the front door can check. */
export function htpasswdHashKind(hash: string): 'bcrypt' | 'apr1' | 'sha1' | null {
  if (/^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}$/.test(hash)) return 'bcrypt';
  if (/^\$apr1\$[^$]{1,8}\$[./A-Za-z0-9]{22}$/.test(hash)) return 'apr1';
  if (/^\{SHA\}[A-Za-z0-9+/]{27}=$/.test(hash)) return 'sha1';
  return null;
}

/** Every entry is kept (an unknown hash then simply never matches: fail closed); problems name the line. */
export function parseHtpasswd(text: string, file: string): { entries: HtpasswdEntry[]; problems: Problem[] } {
  const entries: HtpasswdEntry[] = [];
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const l = raw.replace(/\r$/, '');
    if (l.trim() === '' || l.trim().startsWith('#')) return;
    const colon = l.indexOf(':');
    if (colon <= 0) {
      problems.push({ file, line, message: 'expected user:hash' });
      return;
    }
    const user = l.slice(0, colon);
    const hash = l.slice(colon + 1);
    if (htpasswdHashKind(hash) === null) {
      problems.push({ file, line, message: `unknown hash format for user ${JSON.stringify(user)} (use bcrypt, apr1 or SHA1): access denied` });
    }
    entries.push({ user, hash, line });
  });
  return { entries, problems };
}
