import { sshLimitSettings } from '../../settings/ssh-settings.js';

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

/** Defaults, overridden by STARPHLEET_SSH_* env vars (src/settings/ssh-settings.ts); a bad value names its variable. */
export function sshLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): SshLimits {
  return sshLimitSettings(DEFAULT_SSH_LIMITS, env);
}
