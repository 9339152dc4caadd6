/**
 * Member paths and link targets as segments, never as text handed to the file system: a member's place is decided
 * here, from the archive's own words, and every segment is then walked physically by the tree (tree.ts).
 */

/** Segments of a member path (`./a//b/` is [a, b]; the archive's root is []), or the problem with it. */
export function memberSegments(path: string): string[] | string {
  if (path.includes('\0')) return 'its path holds a NUL byte';
  if (path.startsWith('/')) return 'it has an absolute path';
  const segs = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segs.includes('..')) return "its path contains '..'";
  const long = segs.find((s) => Buffer.byteLength(s) > 255);
  if (long !== undefined) return `a name in its path is longer than 255 bytes`;
  return segs;
}

/**
 * Where a symbolic link at `at` (segments) points, as segments from the tree's root, when it stays inside the tree;
 * null when it is absolute or climbs out. Resolved by text only: that no segment on the way is itself a link is the
 * caller's check (a link chain is refused).
 */
export function linkTarget(at: readonly string[], target: string): string[] | null {
  if (target.startsWith('/')) return null;
  const out = at.slice(0, -1);
  for (const s of target.split('/')) {
    if (s === '' || s === '.') continue;
    if (s === '..') {
      if (out.length === 0) return null;
      out.pop();
    } else out.push(s);
  }
  return out;
}

/** `a` is `b` or one of its ancestors. */
export function isAncestorOrSelf(a: readonly string[], b: readonly string[]): boolean {
  return a.length <= b.length && a.every((s, i) => b[i] === s);
}

export const joined = (segs: readonly string[]): string => segs.join('/');
