import { constants, type Stats } from 'node:fs';
import type { Attrs } from './wire.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/**
 * The permissions the view shows: nothing in it can be changed, so no write bit anywhere; directories, links and
 * executables read r-xr-xr-x, every other file r--r--r-- (whatever the bits on disk).
 */
export function readOnlyMode(mode: number): number {
  const type = mode & constants.S_IFMT;
  const x = type === constants.S_IFDIR || type === constants.S_IFLNK || (mode & 0o111) !== 0;
  return type | (x ? 0o555 : 0o444);
}

/** Attributes of a real path (its own time unless `mtime` says when it was really made) or of a made-up directory. */
export function attrsOf(st: Stats | null, mtime: number | null): Attrs {
  if (st === null) {
    const t = mtime ?? Math.floor(Date.now() / 1000);
    return { mode: constants.S_IFDIR | 0o555, uid: 0, gid: 0, size: 0, atime: t, mtime: t };
  }
  const t = mtime ?? Math.floor(st.mtimeMs / 1000);
  return { mode: readOnlyMode(st.mode), uid: st.uid, gid: st.gid, size: st.size, atime: mtime ?? Math.floor(st.atimeMs / 1000), mtime: t };
}

/**
 * `ls -l` style line (OpenSSH's sftp prints it as-is for `ls -l`), in the format of OpenSSH's sftp-server: the time
 * for the last six months, the year for older ones.
 */
export function longname(name: string, a: Attrs, nlink = 1, now = Date.now()): string {
  const fmt = a.mode & constants.S_IFMT;
  const type = fmt === constants.S_IFDIR ? 'd' : fmt === constants.S_IFLNK ? 'l' : '-';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (a.mode & (1 << (8 - i)) ? c : '-')).join('');
  const d = new Date(a.mtime * 1000);
  const recent = Math.abs(now - a.mtime * 1000) < 182 * 24 * 3600 * 1000;
  const tail = recent ? `${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}` : ` ${d.getUTCFullYear()}`;
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${tail}`;
  return `${type}${bits} ${String(nlink).padStart(4)} ${String(a.uid).padEnd(8)} ${String(a.gid).padEnd(8)} ${String(a.size).padStart(12)} ${when} ${name}`;
}
