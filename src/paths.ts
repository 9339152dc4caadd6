import { isAbsolute, relative, resolve } from 'node:path';

/** Names of services (and of anything else that becomes one path segment): no separators, no `..`, no leading dot. */
export const SAFE_NAME = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]{0,199}$/;

/**
 * Resolves `rel` under `root` and returns the absolute path only if it stays inside root (cleaned first, then
 * contained); null otherwise. Symlinks are the caller's business (lstat what you open).
 */
export function insideRoot(root: string, rel: string): string | null {
  const base = resolve(root);
  const full = resolve(base, rel);
  const r = relative(base, full);
  if (r === '') return full;
  if (r.startsWith('..') || isAbsolute(r)) return null;
  return full;
}
