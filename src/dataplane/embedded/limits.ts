import { frontDoorLimitSettings } from '../../settings/dataplane-settings.js';

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

export function frontDoorLimits(env: NodeJS.ProcessEnv = process.env): FrontDoorLimits {
  return frontDoorLimitSettings(env);
}
