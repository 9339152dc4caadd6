import type { OpenCounts } from './backend.js';
import type { PlaneKind } from './plane.js';
import type { DrainResult } from './plane-routes.js';
import type { RequestStatsSnapshot } from './request-stats.js';

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
 * Requests on the control socket, one JSON object per line, each with an id its answer repeats. Requests of one
 * connection are handled in order, so a drain asked after a table is sent counts against that table.
 */
export type ControlRequest =
  | { readonly id: number; readonly op: 'hello' }
  | { readonly id: number; readonly op: 'set-table'; readonly table: unknown }
  | { readonly id: number; readonly op: 'counts'; readonly instance: string }
  | { readonly id: number; readonly op: 'close-idle'; readonly instance: string }
  | { readonly id: number; readonly op: 'drain'; readonly instance: string; readonly timeoutMs: number }
  /** The ship changed `<data>/tls/serve/` (a new or renewed certificate): load it, dropping no connection. */
  | { readonly id: number; readonly op: 'reload-tls' }
  /** A newer data plane takes over: spawn it, hand it the listening sockets, retire (see handover). */
  | { readonly id: number; readonly op: 'upgrade'; readonly entry: readonly string[] }
  | { readonly id: number; readonly op: 'stop' }
  /** Requests answered per service since this data plane started (the ship's metrics). */
  | { readonly id: number; readonly op: 'stats' };

export type ControlAnswer =
  | { readonly id: number; readonly ok: true; readonly hello?: PlaneHello; readonly counts?: OpenCounts; readonly drain?: DrainResult; readonly stats?: RequestStatsSnapshot; readonly reloaded?: readonly string[] }
  | { readonly id: number; readonly ok: false; readonly error: string };
