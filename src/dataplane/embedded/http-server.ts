import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as HttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../log.js';
import { plain, serveRoute, serveUpgrade } from './dispatch.js';
import { drainServer } from './drain.js';
import { frontDoorLimits, type FrontDoorLimits } from './limits.js';
import { hardenedServer, listen, listenOn } from './listener.js';
import { PublishedPorts, type ProblemSink } from './publish.js';
import { hostName, RouteTable } from './routes.js';
import { rawAnswer } from './upgrade.js';
import { asPlainRequest, inbound, isWebSocket } from './inbound.js';
import { isH2 } from './h2.js';
import { proxyToShip, shipPath } from './ship-proxy.js';
import { challengeAnswer, isChallengePath } from '../tls/challenge.js';
import { SecureContexts } from '../tls/secure-contexts.js';
import { HSTS } from '../tls/tls-settings.js';
import { EmbeddedGate } from '../traffic/embedded-gate.js';

export interface FrontDoorOptions {
  readonly listen: string;
  readonly port: number;
  readonly log: Logger;
  readonly limits?: FrontDoorLimits;
  /** Where a service's published-port problems go (its status message, through the ship). */
  readonly onProblem?: ProblemSink;
  /** A listening socket handed over by an older data plane, served instead of binding the port again. */
  readonly inherited?: NetServer;
  /** The ship's HTTP server (unix socket) for `/starphleet/webhook`; without it that is 404. */
  readonly shipSocket?: string;
  /** `--https-port`: the same routes over TLS, certificates from `<dataDir>/tls/serve/`; undefined: no TLS. */
  readonly httpsPort?: number;
  readonly inheritedHttps?: NetServer;
  /** Where TLS certificates and ACME challenge answers are read from. */
  readonly dataDir?: string;
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
  private readonly secure: Server | null = null;
  private readonly contexts: SecureContexts | null = null;
  /** Maintenance, pauses and rollouts (traffic/): its held requests outlive the tables, by service. */
  readonly gate: EmbeddedGate;

  private constructor(private readonly opts: FrontDoorOptions) {
    this.limits = opts.limits ?? frontDoorLimits();
    this.gate = new EmbeddedGate(this.limits.idleTimeoutMs);
    const handlers = { request: (req: IncomingMessage, res: ServerResponse) => this.handle(req, res), upgrade: (req: IncomingMessage, socket: Duplex, head: Buffer) => this.upgrade(req, socket, head) };
    this.server = hardenedServer(this.limits, handlers);
    if (opts.httpsPort !== undefined) {
      this.contexts = new SecureContexts(opts.dataDir ?? '.', opts.log);
      this.secure = hardenedServer(this.limits, handlers, { ...this.contexts.serverOptions(), ...(this.contexts.defaultOptions() ?? {}) });
    }
    this.published = new PublishedPorts(opts.listen, this.limits, () => this.table, opts.log, opts.onProblem ?? (() => undefined), this.gate);
  }

  static async start(opts: FrontDoorOptions): Promise<FrontDoor> {
    const fd = new FrontDoor(opts);
    if (opts.inherited) await listenOn(fd.server, opts.inherited);
    else await listen(fd.server, opts.port, opts.listen);
    opts.log(`front door on http://${opts.listen}:${fd.port}`);
    if (fd.secure) {
      if (opts.inheritedHttps) await listenOn(fd.secure, opts.inheritedHttps);
      else await listen(fd.secure, opts.httpsPort ?? 0, opts.listen);
      opts.log(`front door on https://${opts.listen}:${fd.httpsPort ?? ''}`);
    }
    return fd;
  }

  /** The HTTPS port (known once it listens), or undefined without --https-port. */
  get httpsPort(): number | undefined {
    if (!this.secure) return undefined;
    return (this.secure.address() as AddressInfo | null)?.port ?? this.opts.httpsPort;
  }

  /**
   * Loads `tls/serve/` again: new handshakes get the new certificates, open connections keep theirs. Returns the
   * names whose certificate changed.
   */
  reloadCertificates(): string[] {
    if (!this.contexts || !this.secure) return [];
    const changed = this.contexts.reload();
    const def = this.contexts.defaultOptions();
    // The server's own context answers handshakes without SNI; with no certificate at all they fail as before.
    if (def) (this.secure as HttpsServer).setSecureContext(def);
    return changed;
  }

  get secureListener(): NetServer | null {
    return this.secure;
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
    this.gate.settle(table);
    return this.published.sync(table);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    // Handed over: the client's next request must open a new connection, which reaches the new data plane.
    if (this.retiring && !isH2(req)) res.setHeader('connection', 'close');
    const inb = inbound(req);
    if ('refused' in inb) return plain(res, 400, `400 bad request: ${inb.refused}\n`, { connection: 'close' });
    const target = inb.target;
    if (isChallengePath(target) && this.opts.dataDir !== undefined) {
      void challengeAnswer(this.opts.dataDir, target).then((a) => (a === null ? plain(res, 404, '404 no such challenge\n') : plain(res, 200, a, { 'cache-control': 'no-store' })));
      return;
    }
    const own = reserved(target);
    if (own !== null) {
      if (own === '/starphleet/health') return plain(res, 200, 'ok\n', { 'cache-control': 'no-store' });
      if (this.opts.shipSocket && shipPath(own)) return proxyToShip(req, res, this.opts.shipSocket, target);
      return plain(res, 404, `404 not found: ${own}\n`);
    }
    const m = this.table.match(target, inb.host);
    if (m.kind === 'none') return plain(res, 404, `404 no service at ${target.split('?')[0] ?? ''}\n`);
    if (m.kind === 'redirect') return plain(res, 301, `moved to ${m.location}\n`, { location: m.location });
    if (m.route.httpsOnly && this.secure) {
      if (!isEncrypted(req)) {
        const location = `https://${hostOnly(inb.host)}${this.httpsPort === 443 ? '' : `:${this.httpsPort ?? ''}`}${target}`;
        return plain(res, 308, `moved to ${location}\n`, { location });
      }
      res.setHeader('strict-transport-security', HSTS);
    }
    const { path, mount } = m;
    this.gate.request(req, res, m.route, path, (route, extras) => serveRoute(req, res, route, path, mount, inb.upstreamHost, this.limits, extras), () => this.handle(req, res));
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    if (!isWebSocket(req)) return asPlainRequest(req, socket, (r, res) => this.handle(r, res));
    const inb = inbound(req);
    if ('refused' in inb) return rawAnswer(socket, 400, 'Bad Request', `400 bad request: ${inb.refused}\n`);
    const target = inb.target;
    if (reserved(target) !== null) return rawAnswer(socket, 404, 'Not Found', '404 not found\n');
    const m = this.table.match(target, inb.host);
    if (m.kind !== 'route') return rawAnswer(socket, 404, 'Not Found', `404 no service at ${target.split('?')[0] ?? ''}\n`);
    if (m.route.httpsOnly && this.secure && !isEncrypted(req)) return rawAnswer(socket, 403, 'Forbidden', '403 this service is served over https only\n');
    const { path, mount } = m;
    this.gate.upgrade(req, socket, m.route, path, (route) => serveUpgrade(req, socket, head, route, path, mount, inb.upstreamHost, this.limits), () => this.upgrade(req, socket, head));
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
    const left = await Promise.all([
      drainServer(this.server, graceMs, { closeIdle: false }),
      this.published.retire(graceMs),
      this.secure ? drainServer(this.secure, graceMs, { closeIdle: false }) : Promise.resolve(0),
    ]);
    const cut = left[0] + left[1] + left[2];
    if (cut > 0) this.opts.log(`front door: ${cut} connection(s) still open after the hand-over grace: closed`);
    await this.close();
  }

  async close(): Promise<void> {
    this.gate.queues.refuseAll('503 the data plane is stopping: try again\n');
    await this.published.close();
    for (const server of this.secure ? [this.server, this.secure] : [this.server]) {
      await new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      });
    }
  }
}

function isEncrypted(req: IncomingMessage): boolean {
  return (req.socket as { encrypted?: boolean }).encrypted === true;
}

/** The Host header's name for a redirect: a plain host name or IP literal only (anything else: the ship's loopback). */
function hostOnly(header: string | undefined): string {
  const h = hostName(header);
  return /^(\[[0-9a-f:.]+\]|[a-z0-9.-]+)$/.test(h) ? h : 'localhost';
}
