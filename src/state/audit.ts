import { auditRetention, recordAuthFailure } from './auth-failures.js';
import { tallyAudit } from './audit-hooks.js';
import type { Db } from './db.js';
import { redactCredentials } from '../util/redact.js';

/**
 * One line of the admirals' SSH audit trail: a login, a session (exec, shell, sftp, scp) with how it ended, a file
 * read, or a request the gate denied. Failed authentications before login are kept apart (auth-failures.ts), so a
 * stranger's flood cannot push these out.
 */
export interface AuditEntry {
  readonly id: number;
  readonly at: string;
  readonly kind: 'auth' | 'exec' | 'shell' | 'sftp' | 'scp' | 'read' | 'deny';
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
  readonly kind: 'exec' | 'shell' | 'sftp' | 'scp';
  readonly user: string;
  readonly fingerprint: string;
  readonly keyFile: string;
  readonly remote: string;
  readonly command: string | null;
  readonly pty: boolean;
}

let inserts = 0;

function prune(db: Db): void {
  // Pruning every insert would double the write cost; every 100th keeps the table near its bound.
  if (++inserts % 100 !== 0) return;
  const { keep, keepDays } = auditRetention().admirals;
  db.prepare('DELETE FROM audit WHERE id <= (SELECT MAX(id) FROM audit) - ?').run(keep);
  db.prepare('DELETE FROM audit WHERE at < ?').run(new Date(Date.now() - keepDays * 86_400_000).toISOString());
}

/** A login (ok) goes to the admirals' trail; a failed authentication to the strangers' counts, never to this table. */
export function auditAuth(db: Db, a: AuthAudit): void {
  tallyAudit({ kind: 'auth', user: a.user, ok: a.ok });
  if (!db.open) return; // the ship is shutting down: what ends now cannot be recorded
  if (!a.ok) {
    recordAuthFailure(db, a);
    return;
  }
  db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, ok, method, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), 'auth', a.user, a.fingerprint, a.keyFile, a.remote, a.ok ? 1 : 0, a.method, a.message,
  );
  prune(db);
}

/** Records a session as it starts; returns its id for auditSessionEnd. */
export function auditSessionStart(db: Db, s: SessionAudit): number {
  if (!db.open) return -1;
  const r = db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, command, pty) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), s.kind, s.user, s.fingerprint, s.keyFile, s.remote, s.command === null ? null : redactCredentials(s.command), s.pty ? 1 : 0,
  );
  prune(db);
  return Number(r.lastInsertRowid);
}

export function auditSessionEnd(db: Db, id: number, end: { exitCode: number | null; signal: string | null; durationMs: number; message?: string }): void {
  if (!db.open) return; // the ship is shutting down: what ends now cannot be recorded
  db.prepare('UPDATE audit SET exit_code = ?, signal = ?, duration_ms = ?, message = ? WHERE id = ?').run(
    end.exitCode, end.signal, Math.round(end.durationMs), redactCredentials(end.message ?? ''), id,
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
  tallyAudit({ kind: 'sftp-bytes', user: r.user, direction: 'read', bytes: r.bytes });
  if (!db.open) return; // the ship is shutting down: what ends now cannot be recorded
  db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, command, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), 'read', r.user, r.fingerprint, r.keyFile, r.remote, r.path, `${r.bytes} bytes`,
  );
  prune(db);
}

/** A request of a logged-in admiral that the SSH gate denied, with the gate's reason. */
export function auditDeny(db: Db, d: { user: string; fingerprint: string; keyFile: string; remote: string; request: string; reason: string }): void {
  if (!db.open) return; // the ship is shutting down: what ends now cannot be recorded
  db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, command, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), 'deny', d.user, d.fingerprint, d.keyFile, d.remote, d.request, d.reason,
  );
  prune(db);
}

/**
 * A phleet request an admiral signed and this ship served to another ship (`logs`, `redeploy` as user ship): who
 * asked, for what, and the request's nonce, which the asking ship's audit shows too (in its `phleet` command line).
 */
export function auditPhleetRequest(db: Db, r: { admiral: string; fingerprint: string; operation: string; nonce: string; ok: boolean; reason?: string }): void {
  if (!db.open) return;
  db.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, ok, command, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), 'read', 'ship', r.fingerprint, r.admiral, 'phleet request', r.ok ? 1 : 0, r.operation,
    r.ok ? `served on behalf of admiral ${r.admiral}, request ${r.nonce}` : `refused: ${r.reason ?? ''}`,
  );
  prune(db);
}

/** The asking side of a phleet request: which ships this ship sent an admiral's signed request to. */
export function auditPhleetSent(db: Db, r: { operation: string; nonce: string; ships: readonly string[] }): void {
  if (!db.open) return;
  db.prepare('INSERT INTO audit (at, kind, user, remote, command, message) VALUES (?, ?, ?, ?, ?, ?)').run(
    new Date().toISOString(), 'read', 'admiral', 'phleet fan-out', r.operation, `request ${r.nonce} sent to ${r.ships.join(', ')}`,
  );
  prune(db);
}
