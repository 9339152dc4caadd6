import type { OpenCounts } from '../embedded/backend.js';
import type { PlaneEvent } from './plane.js';
import type { DrainResult } from '../embedded/plane-routes.js';
import type { RequestStatsSnapshot } from '../process/request-stats.js';
import type { WireTable } from './wire.js';

/**
 * The embedded plane's helper processes (plane-helpers.ts) and the plane process that runs them, over the IPC
 * channel it started them with (no socket anyone else can reach). The plane sends its listening sockets and the table
 * in force first (`listen`, with the HTTP handle; then `https` with the TLS one when there is one), then requests.
 */
export type ToHelper =
  /** With the table in force: a helper serves nothing before it has the plane's table (it would answer 404). */
  | { readonly op: 'listen'; readonly listen: string; readonly dataDir: string; readonly shipSocket: string; readonly https: boolean; readonly table: WireTable }
  | { readonly op: 'https' }
  | { readonly id: number; readonly op: 'set-table'; readonly table: WireTable }
  | { readonly id: number; readonly op: 'counts'; readonly instance: string }
  | { readonly id: number; readonly op: 'close-idle'; readonly instance: string }
  | { readonly id: number; readonly op: 'drain'; readonly instance: string; readonly timeoutMs: number }
  | { readonly id: number; readonly op: 'stats' }
  | { readonly id: number; readonly op: 'reload-tls' }
  | { readonly id: number; readonly op: 'retire'; readonly graceMs: number }
  | { readonly id: number; readonly op: 'close' };

export type FromHelper =
  | { readonly ready: true }
  | { readonly event: PlaneEvent }
  | { readonly id: number; readonly ok: true; readonly counts?: OpenCounts; readonly drain?: DrainResult; readonly stats?: RequestStatsSnapshot; readonly reloaded?: readonly string[] }
  | { readonly id: number; readonly ok: false; readonly error: string };
