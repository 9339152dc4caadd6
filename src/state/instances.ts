import type { Db } from './db.js';

export type InstanceState = 'starting' | 'serving' | 'draining';

/** A running instance as recorded, so the next ship process can find it (pid + start time say it is still ours). */
export interface InstanceRecord {
  readonly id: string;
  readonly service: string;
  readonly release: string;
  readonly pid: number;
  readonly startTime: string;
  readonly port: number;
  readonly state: InstanceState;
  readonly runtime: string;
  readonly startedAt: string;
  /** The Procfile type it runs (web, worker, ...). */
  readonly process: string;
}

export function insertInstance(db: Db, r: InstanceRecord): void {
  db.prepare(
    `INSERT INTO instances (id, service, release, pid, start_time, port, state, runtime, started_at, process)
     VALUES (@id, @service, @release, @pid, @startTime, @port, @state, @runtime, @startedAt, @process)`,
  ).run(r);
}

export function setInstanceState(db: Db, id: string, state: InstanceState): void {
  db.prepare('UPDATE instances SET state = ? WHERE id = ?').run(state, id);
}

export function deleteInstance(db: Db, id: string): void {
  db.prepare('DELETE FROM instances WHERE id = ?').run(id);
}

export function listInstances(db: Db): InstanceRecord[] {
  return db
    .prepare('SELECT id, service, release, pid, start_time AS startTime, port, state, runtime, started_at AS startedAt, process FROM instances ORDER BY started_at')
    .all() as InstanceRecord[];
}

/** What the agent serves for a service: the mount and whether it is routed, the release and the inputs it was built from. */
export interface AgentService {
  readonly name: string;
  readonly mount: string;
  readonly published: boolean;
  readonly release: string | null;
  /** Digest of the deploy inputs (sha, orders, HQ env) of that release; a change means a new deploy. */
  readonly inputs: string | null;
}

export function saveAgentService(db: Db, s: AgentService): void {
  db.prepare(
    `INSERT INTO agent_services (name, mount, published, release, inputs) VALUES (?, ?, ?, ?, ?)
     ON CONFLICT(name) DO UPDATE SET mount = excluded.mount, published = excluded.published, release = excluded.release, inputs = excluded.inputs`,
  ).run(s.name, s.mount, s.published ? 1 : 0, s.release, s.inputs);
}

export function listAgentServices(db: Db): AgentService[] {
  const rows = db.prepare('SELECT name, mount, published, release, inputs FROM agent_services ORDER BY name').all() as {
    name: string;
    mount: string;
    published: number;
    release: string | null;
    inputs: string | null;
  }[];
  return rows.map((r) => ({ ...r, published: r.published === 1 }));
}

export function deleteAgentService(db: Db, name: string): void {
  db.prepare('DELETE FROM agent_services WHERE name = ?').run(name);
}
