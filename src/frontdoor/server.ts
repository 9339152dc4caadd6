import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { plain, serveRoute, serveUpgrade } from './dispatch.js';
import { frontDoorLimits, type FrontDoorLimits } from './limits.js';
import type { DoorListeners } from '../update/handover-messages.js';
import type { HeldListener } from '../update/handover-new-ship.js';
import { drainServer } from './drain.js';
import { hardenedServer, listen } from './listener.js';
import { PublishedPorts, type ProblemSink } from './publish.js';
import { RouteTable } from './routes.js';
import { rawAnswer } from './upgrade.js';

export interface FrontDoorOptions {
  readonly listen: string;
  readonly port: number;
  readonly log: Logger;
  readonly limits?: FrontDoorLimits;
  /** The status JSON of /starphleet/status; without it that path is a 404. */
  readonly status?: () => unknown;
  /** Where a service's published-port problems go (its status message). */
  readonly onProblem?: ProblemSink;
  /** Hand-over: serve on the old ship's sockets (its port and published ports) instead of binding them again. */
  readonly inherit?: () => Promise<{ readonly http: HeldListener; readonly published: ReadonlyMap<number, HeldListener> }>;
}

function reserved(target: string): string | null {
  if (target === '/starphleet' || target.startsWith('/starphleet/') || target.startsWith('/starphleet?')) {
    const q = target.indexOf('?');
    return q < 0 ? target : target.slice(0, q);
  }
  return null;
}

/**
 * The ship's HTTP port: `/starphleet/...` is the ship's own, everything else goes to the service of the request's
 * virtual host or else of the longest matching mount. The route table is replaced as a whole (setRoutes), never edited
 * in place, so a request sees the old table or the new one.
 */
export class FrontDoor {
  private table = new RouteTable([]);
  private readonly server: Server;
  private readonly published: PublishedPorts;
  private readonly limits: FrontDoorLimits;
  private retiring = false;
  private held: HeldListener | null = null;

  private constructor(private readonly opts: FrontDoorOptions) {
    this.limits = opts.limits ?? frontDoorLimits();
    this.server = hardenedServer(this.limits, { request: (req, res) => this.handle(req, res), upgrade: (req, socket, head) => this.upgrade(req, socket, head) });
    this.published = new PublishedPorts(opts.listen, this.limits, () => this.table, opts.log, opts.onProblem ?? (() => undefined));
  }

  static async start(opts: FrontDoorOptions): Promise<FrontDoor> {
    const fd = new FrontDoor(opts);
    if (opts.inherit) {
      // Held, not served, until open(): the routes must be in place first, or the old ship's clients would get 404s.
      const got = await opts.inherit();
      fd.held = got.http;
      fd.published.adopt(got.published);
    } else await listen(fd.server, opts.port, opts.listen);
    opts.log(`front door on http://${opts.listen}:${fd.port}`);
    return fd;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? this.opts.port;
  }

  /** Starts serving on a handed-over socket (connections that came in meanwhile waited, none was refused). */
  async open(): Promise<void> {
    const held = this.held;
    this.held = null;
    if (held) await held.adoptInto(this.server);
  }

  get routes(): RouteTable {
    return this.table;
  }

  /** Swaps the whole table; published ports follow (resolves when they did). */
  setRoutes(table: RouteTable): Promise<void> {
    this.table = table;
    return this.published.sync(table);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // Handed over: the client's next request must open a new connection, which reaches the new ship.
    if (this.retiring) res.setHeader('connection', 'close');
    const target = req.url ?? '/';
    const own = reserved(target);
    if (own !== null) return this.own(own, res);
    const m = this.table.match(target, req.headers.host);
    if (m.kind === 'none') return plain(res, 404, `404 no service at ${target.split('?')[0] ?? ''}\n`);
    if (m.kind === 'redirect') return plain(res, 301, `moved to ${m.location}\n`, { location: m.location });
    serveRoute(req, res, m.route, m.path, m.mount, this.limits);
  }

  private own(path: string, res: ServerResponse): void {
    if (path === '/starphleet/health') return plain(res, 200, 'ok\n', { 'cache-control': 'no-store' });
    if (path === '/starphleet/status' && this.opts.status) {
      res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' });
      res.end(`${JSON.stringify(this.opts.status(), null, 2)}\n`);
      return;
    }
    plain(res, 404, `404 not found: ${path}\n`);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = req.url ?? '/';
    if (reserved(target) !== null) return rawAnswer(socket, 404, 'Not Found', '404 not found\n');
    const m = this.table.match(target, req.headers.host);
    if (m.kind !== 'route') return rawAnswer(socket, 404, 'Not Found', `404 no service at ${target.split('?')[0] ?? ''}\n`);
    serveUpgrade(req, socket, head, m.route, m.path, m.mount, this.limits);
  }

  /** The listening sockets, shared with a successor ship during a hand-over. */
  listeners(): DoorListeners {
    return { http: this.server, published: this.published.listeners() };
  }

  /** After a hand-over: accept nothing more, let requests in flight finish (up to graceMs), then close. */
  async retire(graceMs: number): Promise<void> {
    this.retiring = true;
    const left = await Promise.all([drainServer(this.server, graceMs), this.published.retire(graceMs)]);
    const cut = left[0] + left[1];
    if (cut > 0) this.opts.log(`front door: ${cut} connection(s) still open after the hand-over grace: closed`);
    await this.close();
  }

  async close(): Promise<void> {
    await this.published.close();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
    for (const r of this.table.routes) r.backend?.close();
  }
}
