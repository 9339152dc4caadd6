import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log.js';
import { plain, serveRoute, serveUpgrade } from './dispatch.js';
import { drainServer } from './drain.js';
import { frontDoorLimits, type FrontDoorLimits } from './limits.js';
import { hardenedServer, listen, listenOn } from './listener.js';
import { PublishedPorts, type ProblemSink } from './publish.js';
import { RouteTable } from './routes.js';
import { rawAnswer } from './upgrade.js';
import { proxyToShip, shipPath } from './ship-proxy.js';

export interface FrontDoorOptions {
  readonly listen: string;
  readonly port: number;
  readonly log: Logger;
  readonly limits?: FrontDoorLimits;
  /** Where a service's published-port problems go (its status message, through the ship). */
  readonly onProblem?: ProblemSink;
  /** A listening socket handed over by an older data plane, served instead of binding the port again. */
  readonly inherited?: NetServer;
  /** The ship's HTTP server (unix socket) for `/starphleet/webhook` and `/starphleet/dashboard`; without it they are 404. */
  readonly shipSocket?: string;
}

/** The ship's own paths under /starphleet/: only these are public (the status JSON is for SSH and the control socket). */
function reserved(target: string): string | null {
  if (target === '/starphleet' || target.startsWith('/starphleet/') || target.startsWith('/starphleet?')) {
    const q = target.indexOf('?');
    return q < 0 ? target : target.slice(0, q);
  }
  return null;
}

/**
 * The embedded data plane's HTTP port: `/starphleet/health` is the ship's own, everything else goes to the service of
 * the request's virtual host or else of the longest matching mount. The route table is replaced as a whole
 * (setRoutes), never edited in place, so a request sees the old table or the new one.
 */
export class FrontDoor {
  private table = new RouteTable([]);
  private readonly server: Server;
  readonly published: PublishedPorts;
  private readonly limits: FrontDoorLimits;
  private retiring = false;

  private constructor(private readonly opts: FrontDoorOptions) {
    this.limits = opts.limits ?? frontDoorLimits();
    this.server = hardenedServer(this.limits, { request: (req, res) => this.handle(req, res), upgrade: (req, socket, head) => this.upgrade(req, socket, head) });
    this.published = new PublishedPorts(opts.listen, this.limits, () => this.table, opts.log, opts.onProblem ?? (() => undefined));
  }

  static async start(opts: FrontDoorOptions): Promise<FrontDoor> {
    const fd = new FrontDoor(opts);
    if (opts.inherited) await listenOn(fd.server, opts.inherited);
    else await listen(fd.server, opts.port, opts.listen);
    opts.log(`front door on http://${opts.listen}:${fd.port}`);
    return fd;
  }

  get port(): number {
    return (this.server.address() as AddressInfo | null)?.port ?? this.opts.port;
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
    // Handed over: the client's next request must open a new connection, which reaches the new data plane.
    if (this.retiring) res.setHeader('connection', 'close');
    const target = req.url ?? '/';
    const own = reserved(target);
    if (own !== null) {
      if (own === '/starphleet/health') return plain(res, 200, 'ok\n', { 'cache-control': 'no-store' });
      if (this.opts.shipSocket && shipPath(own)) return proxyToShip(req, res, this.opts.shipSocket);
      return plain(res, 404, `404 not found: ${own}\n`);
    }
    const m = this.table.match(target, req.headers.host);
    if (m.kind === 'none') return plain(res, 404, `404 no service at ${target.split('?')[0] ?? ''}\n`);
    if (m.kind === 'redirect') return plain(res, 301, `moved to ${m.location}\n`, { location: m.location });
    serveRoute(req, res, m.route, m.path, m.mount, this.limits);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const target = req.url ?? '/';
    if (reserved(target) !== null) return rawAnswer(socket, 404, 'Not Found', '404 not found\n');
    const m = this.table.match(target, req.headers.host);
    if (m.kind !== 'route') return rawAnswer(socket, 404, 'Not Found', `404 no service at ${target.split('?')[0] ?? ''}\n`);
    serveUpgrade(req, socket, head, m.route, m.path, m.mount, this.limits);
  }

  /** The listening socket, for a newer data plane that takes over. */
  get listener(): NetServer {
    return this.server;
  }

  /** After a hand-over: accept nothing more, let what is in flight finish (up to graceMs), then close. */
  async retire(graceMs: number): Promise<void> {
    this.retiring = true;
    // Idle kept-alive connections are not closed under a client that may be sending on them right now: each gets
    // `connection: close` on its next answer, or ends at its keep-alive timeout (announced to the client).
    const left = await Promise.all([drainServer(this.server, graceMs, { closeIdle: false }), this.published.retire(graceMs)]);
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
  }
}
