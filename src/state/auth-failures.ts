import { ConfigError } from '../settings/config-error.js';
import { COUNT, numberSetting } from '../settings/number-setting.js';
import type { Db } from './db.js';

/**
 * Failed SSH authentications before login, kept apart from the admirals' trail: counted per minute, address, user,
 * key and reason, so a flood from one stranger is a handful of rows, and its own retention can never flush an
 * admiral's logins and commands.
 */

export interface Retention {
  /** Rows kept at most. */
  readonly keep: number;
  /** Rows older than this many days go. */
  readonly keepDays: number;
}

export interface AuditRetention {
  readonly admirals: Retention;
  readonly failures: Retention;
}

export const DEFAULT_AUDIT_RETENTION: AuditRetention = {
  admirals: { keep: 20_000, keepDays: 365 },
  failures: { keep: 10_000, keepDays: 30 },
};

const ENV: Record<string, [keyof AuditRetention, keyof Retention]> = {
  STARPHLEET_AUDIT_KEEP: ['admirals', 'keep'],
  STARPHLEET_AUDIT_KEEP_DAYS: ['admirals', 'keepDays'],
  STARPHLEET_AUTH_FAILURES_KEEP: ['failures', 'keep'],
  STARPHLEET_AUTH_FAILURES_KEEP_DAYS: ['failures', 'keepDays'],
};

/** Defaults, overridden by the STARPHLEET_AUDIT_* / STARPHLEET_AUTH_FAILURES_* env vars; a bad value names its variable. */
export function auditRetentionFromEnv(env: NodeJS.ProcessEnv = process.env): AuditRetention {
  const out = { admirals: { ...DEFAULT_AUDIT_RETENTION.admirals }, failures: { ...DEFAULT_AUDIT_RETENTION.failures } };
  for (const [name, [table, field]] of Object.entries(ENV)) {
    out[table][field] = numberSetting(env[name], name, out[table][field], { ...COUNT, plain: true, what: 'an integer >= 1', error: (m) => new ConfigError(m) });
  }
  return out;
}

let retention: AuditRetention | null = null;

/** The retention in force: set at ship start, read from the environment otherwise. */
export function auditRetention(): AuditRetention {
  retention ??= auditRetentionFromEnv();
  return retention;
}

export function setAuditRetention(r: AuditRetention): void {
  retention = r;
}

let recorded = 0;

function pruneFailures(db: Db): void {
  const { keep, keepDays } = auditRetention().failures;
  db.prepare('DELETE FROM auth_failures WHERE last_at < ?').run(new Date(Date.now() - keepDays * 86_400_000).toISOString());
  db.prepare('DELETE FROM auth_failures WHERE rowid NOT IN (SELECT rowid FROM auth_failures ORDER BY last_at DESC LIMIT ?)').run(keep);
}

export function recordAuthFailure(db: Db, f: { user: string; fingerprint: string | null; remote: string; method: string; message: string }): void {
  if (!db.open) return; // the ship is shutting down
  const at = new Date().toISOString();
  db.prepare(
    `INSERT INTO auth_failures (minute, remote, user, fingerprint, method, reason, count, first_at, last_at)
     VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?)
     ON CONFLICT (minute, remote, user, fingerprint, method, reason) DO UPDATE SET count = count + 1, last_at = excluded.last_at`,
  ).run(at.slice(0, 16), f.remote, f.user.slice(0, 64), f.fingerprint ?? '', f.method.slice(0, 32), f.message.slice(0, 300), at, at);
  // Every 100th insert: a bound kept loosely costs far less under a flood than one kept exactly.
  if (++recorded % 100 === 0) pruneFailures(db);
}

export interface AuthFailureRow {
  readonly minute: string;
  readonly remote: string;
  readonly user: string;
  readonly fingerprint: string;
  readonly method: string;
  readonly reason: string;
  readonly count: number;
  readonly firstAt: string;
  readonly lastAt: string;
}

export function latestAuthFailures(db: Db, limit = 50): AuthFailureRow[] {
  return db
    .prepare(
      `SELECT minute, remote, user, fingerprint, method, reason, count, first_at AS firstAt, last_at AS lastAt
       FROM auth_failures ORDER BY last_at DESC LIMIT ?`,
    )
    .all(limit) as AuthFailureRow[];
}

/** Failed attempts counted since `sinceIso`, for the summary line of `starphleet audit`. */
export function authFailureTotal(db: Db, sinceIso: string): number {
  const r = db.prepare('SELECT COALESCE(SUM(count), 0) AS n FROM auth_failures WHERE last_at >= ?').get(sinceIso) as { n: number };
  return r.n;
}

/** For tests and the shutdown path: apply the retention now. */
export function pruneAuthFailures(db: Db): void {
  pruneFailures(db);
}
