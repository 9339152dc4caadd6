import type { OpenCounts } from '../embedded/backend.js';
import type { PlaneKind } from './plane.js';
import type { DrainResult } from '../embedded/plane-routes.js';
import type { RequestStatsSnapshot } from '../process/request-stats.js';

/** Who the data plane is: `hello` answers this. */
export interface PlaneHello {
  readonly pid: number;
  readonly version: string;
  readonly kind: PlaneKind;
  readonly listen: string;
  readonly port: number;
  /** The HTTPS port; absent when the plane serves no TLS. */
  readonly httpsPort?: number;
}

/**
 * Requests on the control socket: one JSON object on one line per connection (util/one-request.ts), answered by one
 * line, then the connection closes. Tables apply in the order they arrive; any other request waits for the tables
 * that arrived before it (the ship sends a drain only after its table was answered). No request names a program or
 * a path: `upgrade` runs what the ship recorded in the data dir (plane-entry.ts).
 */
export type ControlRequest =
  | { readonly op: 'hello' }
  | { readonly op: 'set-table'; readonly table: unknown }
  | { readonly op: 'counts'; readonly instance: string }
  | { readonly op: 'close-idle'; readonly instance: string }
  | { readonly op: 'drain'; readonly instance: string; readonly timeoutMs: number }
  /** The ship changed `<data>/tls/serve/` (a new or renewed certificate): load it, dropping no connection. */
  | { readonly op: 'reload-tls' }
  /** A newer data plane takes over: the version the ship recorded, spawned and handed the listening sockets. */
  | { readonly op: 'upgrade' }
  | { readonly op: 'stop' }
  /** Requests answered per service since this data plane started (the ship's metrics). */
  | { readonly op: 'stats' }
  /** The one long-lived request: the plane's events (PlaneEvent), one JSON line each, until either side closes. */
  | { readonly op: 'subscribe' };

export type ControlAnswer =
  | { readonly ok: true; readonly hello?: PlaneHello; readonly counts?: OpenCounts; readonly drain?: DrainResult; readonly stats?: RequestStatsSnapshot; readonly reloaded?: readonly string[] }
  | { readonly ok: false; readonly error: string };
