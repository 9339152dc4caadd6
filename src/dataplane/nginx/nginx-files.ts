import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { planePaths } from '../../data-dir/plane-paths.js';
import { tlsPaths } from '../../data-dir/tls-paths.js';
import type { NginxLayout } from './nginx-locations.js';

// What the nginx plane keeps in the data dir, and what a restarted plane reads back from it.

/** Config, pid, logs, htpasswd files and temp dirs under <data>/dataplane/nginx; ACME answers under tls/. */
export function layoutOf(dataDir: string): NginxLayout {
  const prefix = planePaths.nginx(dataDir);
  return {
    prefix,
    conf: join(prefix, 'nginx.conf'),
    pid: join(prefix, 'nginx.pid'),
    errorLog: join(prefix, 'error.log'),
    htpasswdDir: join(prefix, 'htpasswd'),
    tempDir: join(prefix, 'tmp'),
    statsLog: join(prefix, 'requests.log'),
    challengeDir: tlsPaths.challenges(dataDir),
    holdSocket: planePaths.hold(dataDir),
  };
}

/** A file's text, or null if it cannot be read. */
export function readText(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/** The pid in a pid file, or null. */
export function readPid(path: string): number | null {
  try {
    const n = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(n) && n > 0 ? n : null;
  } catch {
    return null;
  }
}

/** The main port a config file listens on (its default_server), or null. */
export function portOf(conf: string): number | null {
  try {
    const m = /listen \S*?:(\d+) default_server;/.exec(readFileSync(conf, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The TLS port a config file listens on, or null. */
export function httpsPortOf(conf: string): number | null {
  try {
    const m = /listen \S*?:(\d+) ssl http2 default_server;/.exec(readFileSync(conf, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
