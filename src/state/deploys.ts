import type { Db } from './db.js';

/** What started a deploy: a new sha (or orders/HQ env) from a pulse, `redeploy`, `rollback`, a restart after crashes... */
export type DeployTrigger = string;

export type DeployResult = 'running' | 'serving' | 'failed' | 'cancelled';

/** One deploy of a service: the release it built (null when the build failed before naming one), and how it ended. */
export interface DeployRecord {
  readonly id: number;
  readonly service: string;
  readonly release: string | null;
  readonly sha: string;
  readonly at: string;
  readonly trigger: DeployTrigger;
  readonly result: DeployResult;
  readonly reason: string;
}

const KEEP_PER_SERVICE = 100;

export function startDeployRecord(db: Db, d: { service: string; sha: string; trigger: DeployTrigger; release?: string | null }): number {
  const r = db
    .prepare(`INSERT INTO deploys (service, release, sha, at, trigger, result) VALUES (?, ?, ?, ?, ?, 'running')`)
    .run(d.service, d.release ?? null, d.sha, new Date().toISOString(), d.trigger);
  // The history is for reading, not an archive: a service keeps its last hundred deploys.
  db.prepare('DELETE FROM deploys WHERE service = ? AND id <= (SELECT id FROM deploys WHERE service = ? ORDER BY id DESC LIMIT 1 OFFSET ?)').run(d.service, d.service, KEEP_PER_SERVICE);
  return Number(r.lastInsertRowid);
}

export function finishDeployRecord(db: Db, id: number, o: { result: DeployResult; reason?: string; release?: string | null }): void {
  db.prepare('UPDATE deploys SET result = ?, reason = ?, release = COALESCE(?, release) WHERE id = ?').run(o.result, o.reason ?? '', o.release ?? null, id);
}

/** Newest first. */
export function listDeployRecords(db: Db, service: string): DeployRecord[] {
  return db.prepare('SELECT id, service, release, sha, at, trigger, result, reason FROM deploys WHERE service = ? ORDER BY id DESC').all(service) as DeployRecord[];
}

/** A deploy left `running` by a ship that stopped in its middle did not finish. */
export function closeUnfinishedDeploys(db: Db): void {
  db.prepare(`UPDATE deploys SET result = 'cancelled', reason = 'the ship stopped during the deploy' WHERE result = 'running'`).run();
}

/** A service held on a release by `rollback`, until its ref moves to another sha or `unpin`. */
export interface Pin {
  readonly service: string;
  readonly release: string;
  /** The sha the ref pointed at when pinned: a different one clears the pin. */
  readonly sha: string;
  readonly at: string;
  readonly by: string;
}

export function setPin(db: Db, p: Omit<Pin, 'at'>): void {
  db.prepare(
    `INSERT INTO pins (service, release, sha, at, by) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(service) DO UPDATE SET release = excluded.release, sha = excluded.sha, at = excluded.at, by = excluded.by`,
  ).run(p.service, p.release, p.sha, new Date().toISOString(), p.by);
}

export function getPin(db: Db, service: string): Pin | null {
  return (db.prepare('SELECT service, release, sha, at, by FROM pins WHERE service = ?').get(service) as Pin | undefined) ?? null;
}

export function clearPin(db: Db, service: string): boolean {
  return db.prepare('DELETE FROM pins WHERE service = ?').run(service).changes > 0;
}

export function listPins(db: Db): Pin[] {
  return db.prepare('SELECT service, release, sha, at, by FROM pins ORDER BY service').all() as Pin[];
}

/** The latest deploys of every service, newest first (the dashboard's history). */
export function recentDeploys(db: Db, limit = 20): DeployRecord[] {
  return db.prepare('SELECT id, service, release, sha, at, trigger, result, reason FROM deploys ORDER BY id DESC LIMIT ?').all(limit) as DeployRecord[];
}
