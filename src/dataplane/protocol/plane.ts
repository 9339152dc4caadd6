import type { OpenCounts } from '../embedded/backend.js';
import type { BackoffEvent } from '../basic-auth/backoff.js';
import type { DrainResult } from '../embedded/plane-routes.js';
import type { WireTable } from './wire.js';
import type { RequestStatsSnapshot } from '../process/request-stats.js';
import type { Server as NetServer } from 'node:net';

export type PlaneKind = 'embedded' | 'nginx';

/** What the data plane process tells whoever holds its control socket, unasked. */
export type PlaneEvent =
  | { readonly event: 'problem'; readonly service: string; readonly problem: string | null }
  | ({ readonly event: 'auth-backoff' } & BackoffEvent);

/** One data plane implementation inside the data plane process (embedded: Node; nginx: a supervised nginx master). */
export interface PlaneImpl {
  readonly kind: PlaneKind;
  readonly port: number;
  /** The HTTPS port, or undefined when the plane serves no TLS. */
  readonly httpsPort?: number | undefined;
  /** Loads `<data>/tls/serve/` again without dropping a connection; resolves with the names whose certificate changed. */
  reloadTls(): Promise<string[]>;
  /** Swaps the whole table in; resolves once requests from now on see it. */
  setTable(t: WireTable): Promise<void>;
  counts(instance: string): Promise<OpenCounts>;
  closeIdle(instance: string): Promise<void>;
  drain(instance: string, timeoutMs: number): Promise<DrainResult>;
  close(): Promise<void>;
  /** Requests answered per service (all of the plane's processes); absent: this process's own tally. */
  stats?(): Promise<RequestStatsSnapshot>;
  /** Hand-over (embedded): the listening sockets a newer plane takes, and the retiring of this one after it. */
  listeners?(): { http: NetServer; https: NetServer | null; published: Map<number, NetServer> };
  retire?(graceMs: number): Promise<void>;
}

/** What the ship holds of the data plane (the control client, or a test's): the agent routes and drains through it. */
export interface DataPlane {
  readonly kind: PlaneKind;
  /** The HTTP port it serves (known once it listens). */
  readonly port: number;
  setTable(t: WireTable): Promise<void>;
  counts(instance: string): Promise<OpenCounts>;
  drain(instance: string, timeoutMs: number): Promise<DrainResult>;
  /** Tables kept back while adopting a plane that serves already go out now. */
  open(): Promise<void>;
}
