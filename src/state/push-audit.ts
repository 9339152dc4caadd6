import type { Db } from './db.js';

/**
 * What became of one `git push ship`: `receiving` until the pre-receive hook asks for a build, then `building`,
 * `rejected` (build failed: the ref did not move) or `built`; after the push `serving` while its test instance runs,
 * then `stopped` (or `failed` when it never became healthy). `unchanged`: nothing was pushed (up to date).
 */
export type PushResult = 'receiving' | 'building' | 'rejected' | 'built' | 'unchanged' | 'serving' | 'stopped' | 'failed';

export interface PushRecord {
  readonly id: number;
  readonly at: string;
  readonly name: string;
  readonly fingerprint: string;
  readonly keyFile: string;
  readonly remote: string;
  readonly ref: string | null;
  readonly sha: string | null;
  readonly release: string | null;
  readonly result: PushResult;
  readonly message: string;
  readonly updatedAt: string;
}

const COLUMNS = `id, at, name, fingerprint, key_file AS keyFile, remote, ref, sha, release, result, message, updated_at AS updatedAt`;
/** Bounded like the SSH audit: a push loop must not fill the disk. */
const KEEP = 20_000;

export function auditPushStart(db: Db, p: { name: string; fingerprint: string; keyFile: string; remote: string }): number {
  const now = new Date().toISOString();
  const r = db
    .prepare('INSERT INTO pushes (at, name, fingerprint, key_file, remote, result, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)')
    .run(now, p.name, p.fingerprint, p.keyFile, p.remote, 'receiving', now);
  const id = Number(r.lastInsertRowid);
  if (id % 100 === 0) db.prepare('DELETE FROM pushes WHERE id <= ?').run(id - KEEP);
  return id;
}

/** Sets the result (and whatever else is known by now: ref, sha, release, a message). */
export function auditPushUpdate(db: Db, id: number, u: { result: PushResult; ref?: string; sha?: string; release?: string; message?: string }): void {
  db.prepare(
    `UPDATE pushes SET result = @result, ref = COALESCE(@ref, ref), sha = COALESCE(@sha, sha), release = COALESCE(@release, release),
       message = COALESCE(@message, message), updated_at = @now WHERE id = @id`,
  ).run({ id, result: u.result, ref: u.ref ?? null, sha: u.sha ?? null, release: u.release ?? null, message: u.message ?? null, now: new Date().toISOString() });
}

export function getPush(db: Db, id: number): PushRecord | undefined {
  return db.prepare(`SELECT ${COLUMNS} FROM pushes WHERE id = ?`).get(id) as PushRecord | undefined;
}

export function latestPushes(db: Db, limit = 50): PushRecord[] {
  return db.prepare(`SELECT ${COLUMNS} FROM pushes ORDER BY id DESC LIMIT ?`).all(limit) as PushRecord[];
}
