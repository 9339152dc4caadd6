import { createHash } from 'node:crypto';

/**
 * A ship's default name: stable across restarts because it comes from the host key (generated once into the data
 * dir), as the original Starphleet named ships from their host key. `ship-` and 8 hex digits of the fingerprint's
 * sha256: short enough for a status line, still unique in any phleet one would run.
 */
export function defaultShipName(hostKeyFingerprint: string): string {
  return `ship-${createHash('sha256').update(hostKeyFingerprint).digest('hex').slice(0, 8)}`;
}

/** A ship name is a file name under HQ ships/ and a word in canary and in status lines. */
export function shipNameProblem(name: string): string | null {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) return `ship name ${JSON.stringify(name.slice(0, 64))} must be 1-63 letters, digits, '.', '_' or '-' (not starting with a symbol)`;
  return null;
}
