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
  {
    version: 3,
    name: 'ssh audit',
    sql: `
      CREATE TABLE audit (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('auth', 'exec', 'shell', 'sftp', 'read')),
        user TEXT NOT NULL,
        fingerprint TEXT,
        key_file TEXT,
        remote TEXT NOT NULL,
        ok INTEGER,
        method TEXT,
        command TEXT,
        pty INTEGER,
        exit_code INTEGER,
        signal TEXT,
        duration_ms INTEGER,
        message TEXT NOT NULL DEFAULT ''
      );
    `,
  },
  {
    version: 4,
    name: 'agent instances and served inputs',
    sql: `
      CREATE TABLE instances (
        id TEXT PRIMARY KEY,
        service TEXT NOT NULL,
        release TEXT NOT NULL,
        pid INTEGER NOT NULL,
        start_time TEXT NOT NULL,
        port INTEGER NOT NULL,
        state TEXT NOT NULL CHECK (state IN ('starting', 'serving', 'draining')),
        runtime TEXT NOT NULL,
        started_at TEXT NOT NULL
      );
      CREATE TABLE agent_services (
        name TEXT PRIMARY KEY,
        mount TEXT NOT NULL,
        published INTEGER NOT NULL,
        release TEXT,
        inputs TEXT
      );
    `,
  },
  {
    version: 5,
    name: 'git push test builds',
    sql: `
      CREATE TABLE pushes (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        name TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        key_file TEXT NOT NULL,
        remote TEXT NOT NULL,
        ref TEXT,
        sha TEXT,
        release TEXT,
        result TEXT NOT NULL,
        message TEXT NOT NULL DEFAULT '',
        updated_at TEXT NOT NULL
      );
    `,
  },
  {
    version: 6,
    name: 'ssh gate denies and failed authentications kept apart',
    sql: `
      CREATE TABLE auth_failures (
        minute TEXT NOT NULL,
        remote TEXT NOT NULL,
        user TEXT NOT NULL,
        fingerprint TEXT NOT NULL,
        method TEXT NOT NULL,
        reason TEXT NOT NULL,
        count INTEGER NOT NULL,
        first_at TEXT NOT NULL,
        last_at TEXT NOT NULL,
        PRIMARY KEY (minute, remote, user, fingerprint, method, reason)
      );
      CREATE INDEX auth_failures_last_at ON auth_failures (last_at);
      INSERT INTO auth_failures
        SELECT substr(at, 1, 16), remote, user, COALESCE(fingerprint, ''), COALESCE(method, ''), message, COUNT(*), MIN(at), MAX(at)
        FROM audit WHERE kind = 'auth' AND ok = 0
        GROUP BY substr(at, 1, 16), remote, user, COALESCE(fingerprint, ''), COALESCE(method, ''), message;
      CREATE TABLE audit_new (
        id INTEGER PRIMARY KEY,
        at TEXT NOT NULL,
        kind TEXT NOT NULL CHECK (kind IN ('auth', 'exec', 'shell', 'sftp', 'scp', 'read', 'deny')),
        user TEXT NOT NULL,
        fingerprint TEXT,
        key_file TEXT,
        remote TEXT NOT NULL,
        ok INTEGER,
        method TEXT,
        command TEXT,
        pty INTEGER,
        exit_code INTEGER,
        signal TEXT,
        duration_ms INTEGER,
        message TEXT NOT NULL DEFAULT ''
      );
      INSERT INTO audit_new SELECT * FROM audit WHERE NOT (kind = 'auth' AND ok = 0);
      DROP TABLE audit;
      ALTER TABLE audit_new RENAME TO audit;
      CREATE INDEX audit_at ON audit (at);
    `,
  },
  {
    version: 7,
    name: 'process types of instances, deploy history with trigger and result, rollback pins',
    sql: `
      ALTER TABLE instances ADD COLUMN process TEXT NOT NULL DEFAULT 'web';
      CREATE TABLE deploys (
        id INTEGER PRIMARY KEY,
        service TEXT NOT NULL,
        release TEXT,
        sha TEXT NOT NULL,
        at TEXT NOT NULL,
        trigger TEXT NOT NULL,
        result TEXT NOT NULL,
        reason TEXT NOT NULL DEFAULT ''
      );
      CREATE INDEX deploys_service ON deploys (service, id);
      CREATE TABLE pins (
        service TEXT PRIMARY KEY,
        release TEXT NOT NULL,
        sha TEXT NOT NULL,
        at TEXT NOT NULL,
        by TEXT NOT NULL DEFAULT ''
      );
    `,
  },
  {
    version: 8,
    name: 'registry (deploy-tools): component versions by sha256, configurations as ordered layers',
    sql: `
      CREATE TABLE registry_versions (
        component TEXT NOT NULL,
        version TEXT NOT NULL,
        sha256 TEXT NOT NULL,
        size INTEGER NOT NULL,
        added_at TEXT NOT NULL,
        PRIMARY KEY (component, version)
      );
      CREATE TABLE registry_configs (
        name TEXT PRIMARY KEY,
        changed_at TEXT NOT NULL
      );
      CREATE TABLE registry_layers (
        config TEXT NOT NULL REFERENCES registry_configs (name),
        position INTEGER NOT NULL,
        component TEXT NOT NULL,
        version TEXT NOT NULL,
        PRIMARY KEY (config, position),
        FOREIGN KEY (component, version) REFERENCES registry_versions (component, version)
      );
    `,
  },
  {
    version: 9,
    name: 'deploy backoff kept across ref lookup failures and ship restarts (#17)',
    sql: `
      CREATE TABLE deploy_backoff (
        service TEXT PRIMARY KEY,
        inputs TEXT NOT NULL,
        attempts INTEGER NOT NULL,
        retry_at INTEGER NOT NULL,
        reason TEXT NOT NULL
      );
    `,
  },
];
