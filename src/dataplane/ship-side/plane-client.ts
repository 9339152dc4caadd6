import type { OpenCounts } from '../embedded/backend.js';
import { askPlane, isGone, PlaneEvents } from './control-call.js';
import type { ControlAnswer, ControlRequest, PlaneHello } from '../protocol/control-messages.js';
import type { DataPlane, PlaneEvent, PlaneKind } from '../protocol/plane.js';
import { ownPlaneProgram, planeArgs, recordPlaneProgram } from './plane-entry.js';
import type { DrainResult } from '../embedded/plane-routes.js';
import type { WireTable } from '../protocol/wire.js';
import type { RequestStatsSnapshot } from '../process/request-stats.js';

/** A data plane found answering: its event subscription and who it is. */
export interface PlaneHandle {
  readonly events: PlaneEvents | null;
  readonly hello: PlaneHello;
  /** A plane from before one-request connections (control-call.ts isLegacyAnswer). */
  readonly legacy?: boolean;
}

/**
 * The ship's handle on the data plane process. Tables are sent in order; while `held` (the ship adopted a plane that
 * serves already) they are kept back until open(), so a restarting ship never shows clients a table with only the
 * services it has adopted so far. A lost connection is opened again on the next request.
 */
export class PlaneClient implements DataPlane {
  private events: PlaneEvents | null;
  private held: boolean;
  private pendingTable: WireTable | null = null;
  private sending: Promise<void> = Promise.resolve();

  /** The last table sent: a data plane started again (the old one died) gets it at once. */
  private lastTable: WireTable | null = null;
  /** Starts a new data plane process when the recorded one is gone (set by the ship; tests leave it unset). */
  respawn: (() => Promise<PlaneHandle>) | null = null;

  constructor(
    private readonly socketPath: string,
    private readonly dataDir: string,
    found: PlaneHandle,
    private readonly onEvent: (e: PlaneEvent) => void,
    adopted: boolean,
  ) {
    this.events = found.events;
    this.hello = found.hello;
    this.legacy = found.legacy === true;
    this.held = adopted;
  }

  /** Talking to a plane from before one-request connections: only until it is handed over (startDataPlane). */
  private legacy: boolean;

  private hello: PlaneHello;

  get kind(): PlaneKind {
    return this.hello.kind;
  }

  get port(): number {
    return this.hello.port;
  }

  /** The HTTPS port, or undefined when the plane serves no TLS. */
  get httpsPort(): number | undefined {
    return this.hello.httpsPort;
  }

  get pid(): number {
    return this.hello.pid;
  }

  get version(): string {
    return this.hello.version;
  }

  /** The event subscription again when it ended (the plane restarted or handed over), with who answers now. */
  private async resubscribe(): Promise<void> {
    if (this.events?.open || this.legacy) return;
    this.events = await PlaneEvents.open(this.socketPath, this.onEvent).catch(() => null);
    const a = await askPlane(this.socketPath, { op: 'hello' }).catch(() => null);
    if (a?.hello) this.hello = a.hello;
  }

  /** A hand-over in progress: the plane's socket is unbound for a moment, so other requests wait for it. */
  private upgrading: Promise<void> | null = null;

  /** One request; when nobody serves the socket any more (crashed, killed), a new plane with the table in force. */
  private async call(body: ControlRequest): Promise<ControlAnswer & { ok: true }> {
    if (this.upgrading && body.op !== 'upgrade') await this.upgrading.catch(() => undefined);
    try {
      if (!this.events?.open) await this.resubscribe();
      return await askPlane(this.socketPath, body);
    } catch (e) {
      if (!this.respawn || !isGone(e)) throw e;
      const r = await this.respawn();
      this.events?.close();
      this.events = r.events;
      this.hello = r.hello;
      if (this.lastTable && !this.held) await askPlane(this.socketPath, { op: 'set-table', table: this.lastTable });
      return askPlane(this.socketPath, body);
    }
  }

  /** Checks the data plane answers (starting it again if it is gone). */
  async ping(): Promise<void> {
    await this.sending;
    await this.call({ op: 'hello' });
  }

  setTable(t: WireTable): Promise<void> {
    if (this.held) {
      this.pendingTable = t;
      return Promise.resolve();
    }
    this.lastTable = t;
    const send = this.sending.then(async () => {
      await this.call({ op: 'set-table', table: t });
    });
    this.sending = send.catch(() => undefined);
    return send;
  }

  /** Sends the table kept back while held; from now on every table goes out at once. */
  async open(): Promise<void> {
    if (!this.held) return;
    this.held = false;
    const t = this.pendingTable;
    this.pendingTable = null;
    if (t) await this.setTable(t);
  }

  async counts(instance: string): Promise<OpenCounts> {
    await this.sending;
    const a = await this.call({ op: 'counts', instance });
    return a.counts ?? { requests: 0, streams: 0, upgrades: 0 };
  }

  async drain(instance: string, timeoutMs: number): Promise<DrainResult> {
    await this.sending;
    const a = await this.call({ op: 'drain', instance, timeoutMs });
    return a.drain ?? { drained: true, left: { requests: 0, streams: 0, upgrades: 0 } };
  }

  /** Requests answered per service since the data plane started (none from a data plane too old to count them). */
  async stats(): Promise<RequestStatsSnapshot> {
    const a = await this.call({ op: 'stats' });
    return a.stats ?? { buckets: [], services: {} };
  }

  /** Tells the data plane `<data>/tls/serve/` changed; resolves with the names whose certificate it now serves anew. */
  async reloadTls(): Promise<readonly string[]> {
    await this.sending;
    const a = await this.call({ op: 'reload-tls' });
    return a.reloaded ?? [];
  }

  /**
   * Asks the running data plane to hand over to this ship's own version: recorded in the data dir first (the request
   * names no program), then the new plane's hello and events.
   */
  async upgrade(): Promise<void> {
    const done = this.handOver();
    this.upgrading = done;
    try {
      await done;
    } finally {
      if (this.upgrading === done) this.upgrading = null;
    }
  }

  private async handOver(): Promise<void> {
    await this.sending;
    const own = ownPlaneProgram();
    recordPlaneProgram(this.dataDir, own);
    // A plane from before this protocol runs what its request names (ours, from the ship's own package, chosen here):
    // the last time a request carries a program; this version's planes never read it.
    const legacyEntry = own.from === 'dist' ? planeArgs(own).args : ['--import', import.meta.resolve('tsx'), planeArgs(own).args.at(-1) as string];
    await this.call(this.legacy ? ({ op: 'upgrade', entry: legacyEntry } as ControlRequest) : { op: 'upgrade' });
    this.legacy = false;
    this.events?.close();
    this.events = null;
    // The new plane binds the socket as it takes over; its hello and events, once it answers.
    for (let i = 0; i < 100 && !this.events; i++) {
      await this.resubscribe();
      if (!this.events) await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await askPlane(this.socketPath, { op: 'stop' }).catch(() => undefined);
    this.close();
  }

  close(): void {
    this.events?.close();
    this.events = null;
  }

  /** Hands this client's subscription and hello to another client (the supervisor's respawn). */
  detach(): PlaneHandle {
    const events = this.events;
    this.events = null;
    return { events, hello: this.hello };
  }
}
