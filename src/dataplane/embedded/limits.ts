import { numberSetting, POSITIVE } from '../../settings/number-setting.js';

/** Bounds of the front door against slow, broken or greedy clients and silent instances; STARPHLEET_HTTP_* env overrides. */
export interface FrontDoorLimits {
  /** A client has this long to send a whole request head (slowloris). */
  readonly headersTimeoutMs: number;
  /** A client connection with no byte either way for this long during a request is closed. */
  readonly idleTimeoutMs: number;
  /** An idle kept-alive client connection is closed after this. */
  readonly keepAliveTimeoutMs: number;
  /** An instance that sends nothing for this long during a request gets the request a 504. */
  readonly upstreamTimeoutMs: number;
  readonly maxHeaderBytes: number;
  readonly maxConnections: number;
  /** Open connections from one client address; more are closed at once, so one flood does not starve the rest. */
  readonly maxConnectionsPerAddress: number;
}

function num(env: NodeJS.ProcessEnv, name: string, dflt: number, scale: number): number {
  return Math.round(numberSetting(env[name], name, dflt, POSITIVE) * scale);
}

export function frontDoorLimits(env: NodeJS.ProcessEnv = process.env): FrontDoorLimits {
  return {
    headersTimeoutMs: num(env, 'STARPHLEET_HTTP_HEADERS_TIMEOUT', 15, 1000),
    idleTimeoutMs: num(env, 'STARPHLEET_HTTP_IDLE_TIMEOUT', 120, 1000),
    keepAliveTimeoutMs: num(env, 'STARPHLEET_HTTP_KEEPALIVE_TIMEOUT', 30, 1000),
    upstreamTimeoutMs: num(env, 'STARPHLEET_PROXY_TIMEOUT', 60, 1000),
    maxHeaderBytes: num(env, 'STARPHLEET_HTTP_MAX_HEADER_BYTES', 16384, 1),
    maxConnections: num(env, 'STARPHLEET_HTTP_MAX_CONNECTIONS', 10000, 1),
    maxConnectionsPerAddress: num(env, 'STARPHLEET_HTTP_MAX_CONNECTIONS_PER_ADDRESS', 256, 1),
  };
}
