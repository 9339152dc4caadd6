import { join } from 'node:path';
import { parseGitRef, type GitRef } from '../headquarters/giturl.js';
import { writebackRaw } from '../settings/phleet-settings.js';

/**
 * Where the phleet's ships/ entries live. By default in HQ itself (ships need write access to HQ, which is
 * admiral-equivalent: see docs/security.md). With STARPHLEET_WRITEBACK=<url>#<branch> (HQ .starphleet, else the
 * ship's env) they live in a repository (or branch) of their own: every ship writes its entry there and reads the
 * others' from there, and needs no write access to HQ at all.
 */
export function writebackSetting(hqEnv: Readonly<Record<string, string>> | undefined, env: NodeJS.ProcessEnv = process.env): GitRef | null {
  const raw = writebackRaw(hqEnv, env);
  if (raw === undefined || raw.trim() === '') return null;
  const ref = parseGitRef(raw.trim());
  if ('error' in ref) throw new Error(`STARPHLEET_WRITEBACK ${JSON.stringify(raw)}: ${ref.error}`);
  return ref;
}

/** The write-back clone (both layouts): a checkout of its own, never the one the ship runs from. */
export function writebackDir(dataDir: string): string {
  return join(dataDir, 'hq-writeback');
}

/** The checkout whose ships/ this ship reads: HQ's, or the write-back clone when STARPHLEET_WRITEBACK is set. */
export function shipsCheckout(dataDir: string, hqEnv: Readonly<Record<string, string>> | undefined, env: NodeJS.ProcessEnv = process.env): string {
  let separate = false;
  try {
    separate = writebackSetting(hqEnv, env) !== null;
  } catch {
    // A bad setting is reported by the write-back loop; reading falls back to HQ's own ships/.
  }
  return separate ? writebackDir(dataDir) : join(dataDir, 'hq');
}
