import { ConfigError } from './config-error.js';
import { numberSetting } from './number-setting.js';

/** The SSH server's per-client bounds, read here from the ship env; the server room holds their defaults. */
type Env = Readonly<Record<string, string | undefined>>;

interface LimitSpec {
  readonly name: string;
  readonly integer: boolean;
  readonly min: number;
}

/**
 * STARPHLEET_SSH_LOGIN_GRACE, STARPHLEET_SSH_MAX_AUTH_TRIES, STARPHLEET_SSH_MAX_UNAUTHENTICATED,
 * STARPHLEET_SSH_MAX_CONNECTIONS, STARPHLEET_SSH_MAX_SESSIONS, STARPHLEET_SSH_IDLE_TIMEOUT (0: never),
 * STARPHLEET_SSH_KEEPALIVE_INTERVAL and STARPHLEET_SSH_KEEPALIVE_COUNT (ship env): what one SSH client may hold.
 */
export const SSH_LIMIT_SETTINGS = {
  loginGraceSeconds: { name: 'STARPHLEET_SSH_LOGIN_GRACE', integer: false, min: 0.001 },
  maxAuthTries: { name: 'STARPHLEET_SSH_MAX_AUTH_TRIES', integer: true, min: 1 },
  maxUnauthenticated: { name: 'STARPHLEET_SSH_MAX_UNAUTHENTICATED', integer: true, min: 1 },
  maxConnections: { name: 'STARPHLEET_SSH_MAX_CONNECTIONS', integer: true, min: 1 },
  maxSessionsPerConnection: { name: 'STARPHLEET_SSH_MAX_SESSIONS', integer: true, min: 1 },
  idleTimeoutSeconds: { name: 'STARPHLEET_SSH_IDLE_TIMEOUT', integer: false, min: 0 },
  keepaliveIntervalSeconds: { name: 'STARPHLEET_SSH_KEEPALIVE_INTERVAL', integer: false, min: 0.001 },
  keepaliveCountMax: { name: 'STARPHLEET_SSH_KEEPALIVE_COUNT', integer: true, min: 1 },
} as const satisfies Record<string, LimitSpec>;

/** The defaults overridden by the settings above; a bad value is a ConfigError naming its variable. */
export function sshLimitSettings<T extends Record<keyof typeof SSH_LIMIT_SETTINGS, number>>(defaults: T, env: Env = process.env): T {
  const out: Record<string, number> = { ...defaults };
  for (const [key, spec] of Object.entries(SSH_LIMIT_SETTINGS) as [string, LimitSpec][]) {
    const what = `${spec.integer ? 'an integer' : 'a number'} >= ${spec.min}`;
    out[key] = numberSetting(env[spec.name], spec.name, out[key] as number, { min: spec.min, integer: spec.integer, plain: true, what, error: (m) => new ConfigError(m) });
  }
  return out as T;
}
