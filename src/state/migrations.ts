/**
 * Numbered migrations, applied in order at start; `PRAGMA user_version` records the last one applied.
 * Append only: a released migration is never edited, a change is a new number.
 */
export interface Migration {
  readonly version: number;
  readonly name: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'hq syncs and problems',
    sql: `
      CREATE TABLE hq_syncs (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        url TEXT NOT NULL,
        sha TEXT,
        result TEXT NOT NULL CHECK (result IN ('changed', 'failed')),
        message TEXT NOT NULL DEFAULT ''
      );
      CREATE TABLE hq_problems (
        id INTEGER PRIMARY KEY,
        sha TEXT,
        file TEXT NOT NULL,
        line INTEGER,
        message TEXT NOT NULL
      );
      CREATE TABLE kv (
        key TEXT PRIMARY KEY,
        value TEXT NOT NULL
      );
    `,
  },
  {
    version: 2,
    name: 'service status',
    sql: `
      CREATE TABLE services (
        name TEXT PRIMARY KEY,
        mount TEXT NOT NULL,
        giturl TEXT NOT NULL,
        sha TEXT,
        state TEXT NOT NULL CHECK (state IN ('building', 'starting', 'serving', 'failed', 'stopped')),
        release TEXT,
        url TEXT,
        message TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
      );
    `,
  },
];
