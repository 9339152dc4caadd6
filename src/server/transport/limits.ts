import { ConfigError } from '../../settings/ship-options.js';
import { numberSetting } from '../../settings/number-setting.js';

/** What one SSH client may hold; every value has an env override so an operator can tighten or loosen it. */
export interface SshLimits {
  /** Seconds from TCP accept to successful authentication before the connection is dropped. */
  readonly loginGraceSeconds: number;
  /** Rejected authentication requests (not counting `none`) before the connection is dropped. */
  readonly maxAuthTries: number;
  /** Connections not yet authenticated at once; a new one beyond this evicts the oldest. */
  readonly maxUnauthenticated: number;
  /** All connections at once; beyond this a new TCP connection is closed at once. */
  readonly maxConnections: number;
  /** Session channels open at once on one connection. */
  readonly maxSessionsPerConnection: number;
  /** Seconds without session traffic (or with no session at all) before an authenticated connection is closed; 0 = never. */
  readonly idleTimeoutSeconds: number;
  /** Seconds between keepalive pings once authenticated. */
  readonly keepaliveIntervalSeconds: number;
  /** Unanswered keepalives before the connection is considered dead. */
  readonly keepaliveCountMax: number;
}

export const DEFAULT_SSH_LIMITS: SshLimits = {
  loginGraceSeconds: 30,
  maxAuthTries: 6,
  maxUnauthenticated: 128,
  maxConnections: 1000,
  maxSessionsPerConnection: 10,
  idleTimeoutSeconds: 3600,
  keepaliveIntervalSeconds: 15,
  keepaliveCountMax: 3,
};

const ENV: Record<keyof SshLimits, { name: string; integer: boolean; min: number }> = {
  loginGraceSeconds: { name: 'STARPHLEET_SSH_LOGIN_GRACE', integer: false, min: 0.001 },
  maxAuthTries: { name: 'STARPHLEET_SSH_MAX_AUTH_TRIES', integer: true, min: 1 },
  maxUnauthenticated: { name: 'STARPHLEET_SSH_MAX_UNAUTHENTICATED', integer: true, min: 1 },
  maxConnections: { name: 'STARPHLEET_SSH_MAX_CONNECTIONS', integer: true, min: 1 },
  maxSessionsPerConnection: { name: 'STARPHLEET_SSH_MAX_SESSIONS', integer: true, min: 1 },
  idleTimeoutSeconds: { name: 'STARPHLEET_SSH_IDLE_TIMEOUT', integer: false, min: 0 },
  keepaliveIntervalSeconds: { name: 'STARPHLEET_SSH_KEEPALIVE_INTERVAL', integer: false, min: 0.001 },
  keepaliveCountMax: { name: 'STARPHLEET_SSH_KEEPALIVE_COUNT', integer: true, min: 1 },
};

/** Defaults, overridden by STARPHLEET_SSH_* env vars; a bad value names its variable. */
export function sshLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): SshLimits {
  const out: Record<string, number> = { ...DEFAULT_SSH_LIMITS };
  for (const [key, spec] of Object.entries(ENV)) {
    const what = `${spec.integer ? 'an integer' : 'a number'} >= ${spec.min}`;
    out[key] = numberSetting(env[spec.name], spec.name, out[key] as number, { min: spec.min, integer: spec.integer, plain: true, what, error: (m) => new ConfigError(m) });
  }
  return out as unknown as SshLimits;
}
