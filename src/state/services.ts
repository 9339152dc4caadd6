import { redactCredentials } from '../util/redact.js';
import type { Db } from './db.js';

export type ServiceState = 'building' | 'starting' | 'serving' | 'failed' | 'stopped';

/** One row per ordered service: what `starphleet status` shows. The agent writes it; everyone else reads it. */
export interface ServiceStatus {
  readonly name: string;
  readonly mount: string;
  readonly giturl: string;
  readonly sha: string | null;
  readonly state: ServiceState;
  readonly release: string | null;
  readonly url: string | null;
  /** Why it is in that state (the failure reason, say); empty when there is nothing to say. */
  readonly message: string;
}

export function upsertServiceStatus(db: Db, s: ServiceStatus): void {
  db.prepare(
    `INSERT INTO services (name, mount, giturl, sha, state, release, url, message, updated_at)
     VALUES (@name, @mount, @giturl, @sha, @state, @release, @url, @message, @updated_at)
     ON CONFLICT(name) DO UPDATE SET mount = excluded.mount, giturl = excluded.giturl, sha = excluded.sha, state = excluded.state,
       release = excluded.release, url = excluded.url, message = excluded.message, updated_at = excluded.updated_at`,
  ).run({ ...s, giturl: redactCredentials(s.giturl), message: redactCredentials(s.message), updated_at: new Date().toISOString() });
}

export function deleteServiceStatus(db: Db, name: string): void {
  db.prepare('DELETE FROM services WHERE name = ?').run(name);
}

export function listServiceStatus(db: Db): ServiceStatus[] {
  return db.prepare('SELECT name, mount, giturl, sha, state, release, url, message FROM services ORDER BY mount').all() as ServiceStatus[];
}
