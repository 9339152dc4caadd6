import { connect, type Socket } from 'node:net';
import type { OpenCounts } from './backend.js';
import type { ControlAnswer, ControlRequest, PlaneHello } from './control-messages.js';
import type { DataPlane, PlaneEvent, PlaneKind } from './plane.js';
import type { DrainResult } from './plane-routes.js';
import type { WireTable } from './wire.js';
import type { RequestStatsSnapshot } from './request-stats.js';

type Pending = { resolve: (a: ControlAnswer & { ok: true }) => void; reject: (e: Error) => void };
type Body = ControlRequest extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

/** One connection to the data plane's control socket: requests with ids, answers matched back, events passed on. */
export class PlaneConnection {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed: Error | null = null;

  private constructor(
    private readonly socket: Socket,
    onEvent: (e: PlaneEvent) => void,
  ) {
    let buf = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        let m: ControlAnswer | PlaneEvent;
        try {
          m = JSON.parse(line) as ControlAnswer | PlaneEvent;
        } catch {
          continue;
        }
        if ('event' in m) {
          onEvent(m);
          continue;
        }
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (!p) continue;
        if (m.ok) p.resolve(m);
        else p.reject(new Error(`data plane: ${m.error}`));
      }
    });
    const gone = (): void => {
      this.closed ??= new Error('the data plane closed its control connection');
      for (const p of this.pending.values()) p.reject(this.closed);
      this.pending.clear();
    };
    socket.on('close', gone);
    socket.on('error', (e) => {
      this.closed = new Error(`data plane control socket: ${e.message}`);
    });
  }

  static open(path: string, onEvent: (e: PlaneEvent) => void): Promise<PlaneConnection> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      s.once('error', reject);
      s.once('connect', () => {
        s.off('error', reject);
        resolve(new PlaneConnection(s, onEvent));
      });
    });
  }

  get open(): boolean {
    return this.closed === null;
  }

  ask(body: Body): Promise<ControlAnswer & { ok: true }> {
    if (this.closed) return Promise.reject(this.closed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.write(`${JSON.stringify({ ...body, id })}\n`);
    });
  }

  close(): void {
    this.socket.destroy();
  }
}

/**
 * The ship's handle on the data plane process. Tables are sent in order; while `held` (the ship adopted a plane that
 * serves already) they are kept back until open(), so a restarting ship never shows clients a table with only the
 * services it has adopted so far. A lost connection is opened again on the next request.
 */
export class PlaneClient implements DataPlane {
  private conn: PlaneConnection | null;
  private held: boolean;
  private pendingTable: WireTable | null = null;
  private sending: Promise<void> = Promise.resolve();

  /** The last table sent: a data plane started again (the old one died) gets it at once. */
  private lastTable: WireTable | null = null;
  /** Starts a new data plane process when the recorded one is gone (set by the ship; tests leave it unset). */
  respawn: (() => Promise<{ conn: PlaneConnection; hello: PlaneHello }>) | null = null;

  constructor(
    private readonly socketPath: string,
    conn: PlaneConnection,
    private hello: PlaneHello,
    private readonly onEvent: (e: PlaneEvent) => void,
    adopted: boolean,
  ) {
    this.conn = conn;
    this.held = adopted;
  }

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

  private async connection(): Promise<PlaneConnection> {
    if (this.conn?.open) return this.conn;
    try {
      this.conn = await PlaneConnection.open(this.socketPath, this.onEvent);
      const a = await this.conn.ask({ op: 'hello' });
      if (a.hello) this.hello = a.hello;
    } catch (e) {
      if (!this.respawn) throw e;
      // The data plane is gone (crashed, killed): a new one, with the table in force.
      const r = await this.respawn();
      this.conn = r.conn;
      this.hello = r.hello;
      if (this.lastTable && !this.held) await this.conn.ask({ op: 'set-table', table: this.lastTable });
    }
    return this.conn;
  }

  /** Checks the data plane answers (starting it again if it is gone). */
  async ping(): Promise<void> {
    await this.sending;
    await (await this.connection()).ask({ op: 'hello' });
  }

  setTable(t: WireTable): Promise<void> {
    if (this.held) {
      this.pendingTable = t;
      return Promise.resolve();
    }
    this.lastTable = t;
    const send = this.sending.then(async () => {
      await (await this.connection()).ask({ op: 'set-table', table: t });
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
    const a = await (await this.connection()).ask({ op: 'counts', instance });
    return a.counts ?? { requests: 0, streams: 0, upgrades: 0 };
  }

  async drain(instance: string, timeoutMs: number): Promise<DrainResult> {
    await this.sending;
    const a = await (await this.connection()).ask({ op: 'drain', instance, timeoutMs });
    return a.drain ?? { drained: true, left: { requests: 0, streams: 0, upgrades: 0 } };
  }

  /** Requests answered per service since the data plane started (none from a data plane too old to count them). */
  async stats(): Promise<RequestStatsSnapshot> {
    const a = await (await this.connection()).ask({ op: 'stats' });
    return a.stats ?? { buckets: [], services: {} };
  }

  /** Tells the data plane `<data>/tls/serve/` changed; resolves with the names whose certificate it now serves anew. */
  async reloadTls(): Promise<readonly string[]> {
    await this.sending;
    const a = await (await this.connection()).ask({ op: 'reload-tls' });
    return a.reloaded ?? [];
  }

  /** Asks the running data plane to hand over to a newer one (entry: how node runs the new plane-main). */
  async upgrade(entry: readonly string[]): Promise<void> {
    await this.sending;
    const c = await this.connection();
    await c.ask({ op: 'upgrade', entry });
    c.close();
    this.conn = null;
    await this.connection();
  }

  async stop(): Promise<void> {
    const c = await this.connection();
    await c.ask({ op: 'stop' }).catch(() => undefined);
    c.close();
  }

  close(): void {
    this.conn?.close();
    this.conn = null;
  }

  /** Hands this client's connection and hello to another client (the supervisor's respawn). */
  detach(): { conn: PlaneConnection; hello: PlaneHello } {
    const conn = this.conn;
    if (!conn) throw new Error('data plane: no connection to hand on');
    this.conn = null;
    return { conn, hello: this.hello };
  }
}
