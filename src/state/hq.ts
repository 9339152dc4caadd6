import type { Db } from './db.js';

/** An HQ problem as stored: the shape of headquarters' Problem, declared here so state depends on no other room. */
export interface StoredProblem {
  readonly file: string;
  readonly line?: number;
  readonly message: string;
}

export interface HqSync {
  readonly id: number;
  readonly at: string;
  readonly url: string;
  readonly sha: string | null;
  readonly result: 'changed' | 'failed';
  readonly message: string;
}

/** History is for people reading it; a bounded table keeps a flapping remote from filling the disk. */
const KEEP_SYNCS = 1000;

export function recordHqSync(db: Db, s: Omit<HqSync, 'id' | 'at'>): void {
  db.prepare('INSERT INTO hq_syncs (at, url, sha, result, message) VALUES (?, ?, ?, ?, ?)').run(new Date().toISOString(), s.url, s.sha, s.result, s.message);
  db.prepare('DELETE FROM hq_syncs WHERE id <= (SELECT MAX(id) FROM hq_syncs) - ?').run(KEEP_SYNCS);
}

export function latestHqSyncs(db: Db, limit = 20): HqSync[] {
  return db.prepare('SELECT id, at, url, sha, result, message FROM hq_syncs ORDER BY id DESC LIMIT ?').all(limit) as HqSync[];
}

/** The problems of the commit now in force replace the previous commit's. */
export function replaceHqProblems(db: Db, sha: string | null, problems: readonly StoredProblem[]): void {
  db.transaction(() => {
    db.prepare('DELETE FROM hq_problems').run();
    const ins = db.prepare('INSERT INTO hq_problems (sha, file, line, message) VALUES (?, ?, ?, ?)');
    for (const p of problems) ins.run(sha, p.file, p.line ?? null, p.message);
  })();
}

export function currentHqProblems(db: Db): StoredProblem[] {
  const rows = db.prepare('SELECT file, line, message FROM hq_problems ORDER BY id').all() as { file: string; line: number | null; message: string }[];
  return rows.map((r) => (r.line === null ? { file: r.file, message: r.message } : { file: r.file, line: r.line, message: r.message }));
}

export function getKv(db: Db, key: string): string | undefined {
  const row = db.prepare('SELECT value FROM kv WHERE key = ?').get(key) as { value: string } | undefined;
  return row?.value;
}

export function setKv(db: Db, key: string, value: string): void {
  db.prepare('INSERT INTO kv (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value').run(key, value);
}
