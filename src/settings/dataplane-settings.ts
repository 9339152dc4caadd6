import { availableParallelism } from 'node:os';
import { numberSetting, POSITIVE, POSITIVE_SECONDS } from './number-setting.js';

/** The settings of the data plane (its processes, nginx, basic auth) and of TLS, each read here with its default. */
type Env = Readonly<Record<string, string | undefined>>;

/** STARPHLEET_PLANE_PROCESSES (ship env): how many embedded plane processes serve, 1-64 or `auto` (one per core); 1. */
export function planeProcesses(env: Env = process.env): number {
  const raw = env.STARPHLEET_PLANE_PROCESSES ?? '1';
  if (raw === 'auto' || raw === '') return Math.max(1, availableParallelism());
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`STARPHLEET_PLANE_PROCESSES must be auto or a whole number from 1 to 64, got ${JSON.stringify(raw)}`);
  return n;
}

/** STARPHLEET_PLANE_HANDOVER_GRACE (ship env): seconds an old plane keeps its open connections after a hand-over; 3600. */
export function planeHandoverGraceMs(env: Env = process.env): number {
  const raw = env.STARPHLEET_PLANE_HANDOVER_GRACE ?? '3600';
  const n = Number(raw);
  if (!(n >= 0) || !Number.isFinite(n)) throw new Error(`STARPHLEET_PLANE_HANDOVER_GRACE must be a number of seconds, got ${JSON.stringify(raw)}`);
  return n * 1000;
}

/** STARPHLEET_AUTH_WORKERS (ship env): threads that check basic-auth hashes, 1-16; 1 (one core stays free for the rest). */
export function authWorkers(env: Env): number {
  const n = Number(env.STARPHLEET_AUTH_WORKERS ?? '1');
  if (!Number.isInteger(n) || n < 1 || n > 16) throw new Error(`STARPHLEET_AUTH_WORKERS must be 1-16, got ${JSON.stringify(env.STARPHLEET_AUTH_WORKERS)}`);
  return n;
}

/** STARPHLEET_NGINX_USER (ship env): the user nginx's workers run as on a root ship; unset or empty: the room's default. */
export function nginxUserSetting(env: Env = process.env): string | undefined {
  return env.STARPHLEET_NGINX_USER || undefined;
}

/** STARPHLEET_NGINX (ship env): the nginx binary; default `nginx` on PATH (Debian's is /usr/sbin/nginx). */
export function nginxBinary(env: Env = process.env): string {
  return env.STARPHLEET_NGINX ?? 'nginx';
}

function positiveInt(raw: string | undefined, name: string, dflt: number): number {
  if (raw === undefined || raw === '') return dflt;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a positive whole number, got ${JSON.stringify(raw)}`);
  return n;
}

/** STARPHLEET_NGINX_WORKERS (ship env): `auto` (one per core, the default, as a hand-written config has it) or a count. */
export function nginxWorkers(env: Env): number | 'auto' {
  const raw = env.STARPHLEET_NGINX_WORKERS;
  if (raw === undefined || raw === '' || raw === 'auto') return 'auto';
  return positiveInt(raw, 'STARPHLEET_NGINX_WORKERS', 1);
}

/** STARPHLEET_AUTH_RATE (ship env): requests a second nginx lets one address make to a protected location (burst 20, then 429); 20. */
export function nginxAuthRate(env: Env = process.env): number {
  return positiveInt(env.STARPHLEET_AUTH_RATE, 'STARPHLEET_AUTH_RATE', 20);
}

/** STARPHLEET_ACME_EMAIL (HQ `.starphleet`, else the ship env): the ACME account's e-mail; none: no certificate is requested. */
export function acmeEmailSetting(mergedEnv: Env): string | undefined {
  return mergedEnv.STARPHLEET_ACME_EMAIL?.trim();
}

/** STARPHLEET_ACME_DIRECTORY (HQ `.starphleet`, else the ship env): the ACME directory URL; unset: Let's Encrypt's. */
export function acmeDirectorySetting(mergedEnv: Env): string | undefined {
  return mergedEnv.STARPHLEET_ACME_DIRECTORY;
}

/** STARPHLEET_HOSTNAME (HQ `.starphleet`): the ship's default certificate name, lower-cased; none when unset or blank. */
export function hqHostnameSetting(hqEnv: Env): string | undefined {
  return hqEnv.STARPHLEET_HOSTNAME?.trim().toLowerCase() || undefined;
}

function scaled(env: Env, name: string, dflt: number, scale: number): number {
  return Math.round(numberSetting(env[name], name, dflt, POSITIVE) * scale);
}

/**
 * The front door's bounds against slow, broken or greedy clients and silent instances, from the ship env:
 * STARPHLEET_HTTP_HEADERS_TIMEOUT (15 s), STARPHLEET_HTTP_IDLE_TIMEOUT (120 s), STARPHLEET_HTTP_KEEPALIVE_TIMEOUT
 * (30 s), STARPHLEET_PROXY_TIMEOUT (60 s), STARPHLEET_HTTP_MAX_HEADER_BYTES (16384), STARPHLEET_HTTP_MAX_CONNECTIONS
 * (10000) and STARPHLEET_HTTP_MAX_CONNECTIONS_PER_ADDRESS (256).
 */
export function frontDoorLimitSettings(env: Env = process.env) {
  return {
    headersTimeoutMs: scaled(env, 'STARPHLEET_HTTP_HEADERS_TIMEOUT', 15, 1000),
    idleTimeoutMs: scaled(env, 'STARPHLEET_HTTP_IDLE_TIMEOUT', 120, 1000),
    keepAliveTimeoutMs: scaled(env, 'STARPHLEET_HTTP_KEEPALIVE_TIMEOUT', 30, 1000),
    upstreamTimeoutMs: scaled(env, 'STARPHLEET_PROXY_TIMEOUT', 60, 1000),
    maxHeaderBytes: scaled(env, 'STARPHLEET_HTTP_MAX_HEADER_BYTES', 16384, 1),
    maxConnections: scaled(env, 'STARPHLEET_HTTP_MAX_CONNECTIONS', 10000, 1),
    maxConnectionsPerAddress: scaled(env, 'STARPHLEET_HTTP_MAX_CONNECTIONS_PER_ADDRESS', 256, 1),
  };
}

/**
 * STARPHLEET_ACME_RETRY (300 s) and STARPHLEET_ACME_RETRY_MAX (86400 s, never below the first), HQ `.starphleet` else
 * the ship env: the first wait after a failed ACME order and its cap; a bad value is told to `bad` and its default used.
 */
export function acmeRetrySettings(mergedEnv: Env, bad: (message: string, dflt: number) => void): { retryMs: number; maxRetryMs: number } {
  const seconds = (name: string, dflt: number): number => {
    try {
      return numberSetting(mergedEnv[name], name, dflt, POSITIVE_SECONDS);
    } catch (e) {
      bad((e as Error).message, dflt);
      return dflt;
    }
  };
  const retryMs = seconds('STARPHLEET_ACME_RETRY', 300) * 1000;
  return { retryMs, maxRetryMs: Math.max(retryMs, seconds('STARPHLEET_ACME_RETRY_MAX', 86_400) * 1000) };
}
