import type { Db } from './db.js';

/**
 * The failed deploy inputs of a service and when they may be tried again: kept in the db so that neither a failed ref
 * lookup nor a ship restart resets the backoff of a known-bad commit.
 */
export interface StoredBackoff {
  readonly inputs: string;
  readonly attempts: number;
  /** ms since the epoch. */
  readonly retryAt: number;
  readonly reason: string;
}

export function saveBackoff(db: Db, service: string, b: StoredBackoff): void {
  db.prepare(
    `INSERT INTO deploy_backoff (service, inputs, attempts, retry_at, reason) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(service) DO UPDATE SET inputs = excluded.inputs, attempts = excluded.attempts, retry_at = excluded.retry_at, reason = excluded.reason`,
  ).run(service, b.inputs, b.attempts, b.retryAt, b.reason);
}

export function loadBackoff(db: Db, service: string): StoredBackoff | null {
  const r = db.prepare('SELECT inputs, attempts, retry_at AS retryAt, reason FROM deploy_backoff WHERE service = ?').get(service) as StoredBackoff | undefined;
  return r ?? null;
}

export function clearBackoff(db: Db, service: string): void {
  db.prepare('DELETE FROM deploy_backoff WHERE service = ?').run(service);
}
