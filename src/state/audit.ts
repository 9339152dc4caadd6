import type { Db } from './db.js';

/** One line of the SSH audit trail: an authentication attempt, or a session (exec or shell) with how it ended. */
export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly kind: 'auth' | 'exec' | 'shell' | 'sftp' | 'read';
  readonly user: string;
  readonly fingerprint: string | null;
  readonly keyFile: string | null;
  readonly remote: string;
  /** auth: 1 accepted, 0 refused. */
  readonly ok: number | null;
  readonly method: string | null;
  readonly command: string | null;
  readonly pty: number | null;
  readonly exitCode: number | null;
  readonly signal: string | null;
  readonly durationMs: number | null;
  readonly message: string;
}

export interface AuthAudit {
  readonly user: string;
  readonly fingerprint: string | null;
  readonly keyFile: string | null;
  readonly remote: string;
  readonly ok: boolean;
  readonly method: string;
  readonly message: string;
}

export interface SessionAudit {
  readonly kind: 'exec' | 'shell' | 'sftp';
  readonly user: string;
  readonly fingerprint: string;
  readonly keyFile: string;
  readonly remote: string;
  readonly command: string | null;
  readonly pty: boolean;
}

/** Bounded: a flood of failed logins must not fill the disk. */
const KEEP_ENTRIES = 20_000;
let inserts = 0;

function prune(db: Db): void {
  // Pruning every insert would double the write cost under a flood; every 100th keeps the table near its bound.
  if (++inserts % 100 !== 0) return;
  db.prepare('DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?').run(KEEP_ENTRIES);
}

export function auditAuth(db: Db, a: AuthAudit): void {
  if (!db.open) return; // the ship is shutting down: what ends now cannot be recorded
  db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, ok, method, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), 'auth', a.user, a.fingerprint, a.keyFile, a.remote, a.ok ? 1 : 0, a.method, a.message,
  );
  prune(db);
}

/** Records a session as it starts; returns its id for auditSessionEnd. */
export function auditSessionStart(db: Db, s: SessionAudit): number {
  if (!db.open) return -1;
  const r = db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, command, pty) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), s.kind, s.user, s.fingerprint, s.keyFile, s.remote, s.command, s.pty ? 1 : 0,
  );
  prune(db);
  return Number(r.lastInsertRowid);
}

export function auditSessionEnd(db: Db, id: number, end: { exitCode: number | null; signal: string | null; durationMs: number; message?: string }): void {
  if (!db.open) return; // the ship is shutting down: what ends now cannot be recorded
  db.prepare('UPDATE audit SET exit_code = ?, signal = ?, duration_ms = ?, message = ? WHERE id = ?').run(
    end.exitCode, end.signal, Math.round(end.durationMs), end.message ?? '', id,
  );
}

export function latestAudit(db: Db, limit = 50): AuditEntry[] {
  return db
    .prepare(
      `SELECT id, at, kind, user, fingerprint, key_file AS keyFile, remote, ok, method, command, pty,
              exit_code AS exitCode, signal, duration_ms AS durationMs, message
       FROM audit ORDER BY id DESC LIMIT ?`,
    )
    .all(limit) as AuditEntry[];
}

/** One file read through SFTP: which path and how many bytes, under the SFTP session it belongs to. */
export function auditFileRead(db: Db, r: { user: string; fingerprint: string; keyFile: string; remote: string; path: string; bytes: number }): void {
  if (!db.open) return; // the ship is shutting down: what ends now cannot be recorded
  db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, command, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), 'read', r.user, r.fingerprint, r.keyFile, r.remote, r.path, `${r.bytes} bytes`,
  );
  prune(db);
}
