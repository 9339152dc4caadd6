import { archiveLimitSettings } from '../settings/phleet-settings.js';

/**
 * What one unpack may expand to: every member counted while the archive is read, each bound checked before the member
 * that would cross it lands. One unpack is one tree (a release's layers together, a registry upload alone), so a
 * release made of many small layers cannot add up past the bound either.
 */
export interface ArchiveLimits {
  /** Bytes of file content (the sum of the members' sizes). */
  readonly maxBytes: number;
  readonly maxMembers: number;
  /** Path segments of a member (`a/b/c` is 3). */
  readonly maxDepth: number;
}

export const DEFAULT_ARCHIVE_LIMITS: ArchiveLimits = {
  // A release larger than 2 GiB is rare (a Python app with its wheels is some hundreds of MB); a gzip bomb of a few MB
  // reaches it in seconds. Raise it in the ship's env when an app needs more.
  maxBytes: 2 * 1024 ** 3,
  // node_modules of a large app hold some tens of thousands of files.
  maxMembers: 200_000,
  // Linux's PATH_MAX (4096) allows ~2000 one-letter segments; no real tree nests 64 deep.
  maxDepth: 64,
};

/** STARPHLEET_ARCHIVE_MAX_BYTES, _MAX_MEMBERS and _MAX_DEPTH from the ship's env, else the defaults above. */
export function archiveLimits(env: NodeJS.ProcessEnv = process.env): ArchiveLimits {
  return archiveLimitSettings(DEFAULT_ARCHIVE_LIMITS, env);
}
