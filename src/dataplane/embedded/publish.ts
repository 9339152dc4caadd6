import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Server as NetServer } from 'node:net';
import type { Logger } from '../../log.js';
import { checkNumberSetting, PORT_NUMBER } from '../../settings/number-setting.js';
import type { Duplex } from 'node:stream';
import { drainServer } from './drain.js';
import { plain, serveRoute, serveUpgrade } from './dispatch.js';
import { hardenedServer, listen, listenOn } from './listener.js';
import type { FrontDoorLimits } from './limits.js';
import { rawAnswer } from './upgrade.js';
import { asPlainRequest, inbound, isWebSocket } from './inbound.js';
import type { RouteTable } from './routes.js';
import type { EmbeddedGate } from '../traffic/embedded-gate.js';

/** Tells the owner a service's published port cannot be served (message) or serves again (null). */
export type ProblemSink = (service: string, problem: string | null) => void;

interface Published {
  readonly service: string;
  readonly server: Server;
}

/** `PUBLISH_PORT` as orders give it: a port number 1-65535, or an error naming the key. */
export function parsePublishPort(raw: string): number | string {
  return checkNumberSetting(raw, 'PUBLISH_PORT', { ...PORT_NUMBER, plain: true }) ?? Number(raw);
}

/**
 * The extra listeners of `PUBLISH_PORT`: each serves one service as `/` of its port, looking the service up in the
 * front door's current table per request (so route swaps stay atomic there too). Listeners come and go with the orders;
 * a port that cannot be bound (in use, say) is a problem reported for its service and tried again on the next change.
 */
export class PublishedPorts {
  private readonly open = new Map<number, Published>();
  /** Sockets of the data plane this one replaced (hand-over), served on instead of binding their ports again. */
  private readonly inherited = new Map<number, NetServer>();
  private readonly problems = new Map<string, string>();
  private syncing: Promise<void> = Promise.resolve();

  constructor(
    private readonly host: string,
    private readonly limits: FrontDoorLimits,
    private readonly table: () => RouteTable,
    private readonly log: Logger,
    private readonly report: ProblemSink,
    /** The front door's traffic step (maintenance, pause, rollout), shared so a service has one queue of held requests. */
    private readonly gate?: EmbeddedGate,
  ) {}

  /** Brings the listeners in line with the table; runs after any earlier sync, never two at once. */
  sync(table: RouteTable): Promise<void> {
    this.syncing = this.syncing.then(() => this.apply(table));
    return this.syncing;
  }

  private problem(service: string, message: string | null): void {
    if ((this.problems.get(service) ?? null) === message) return;
    if (message === null) this.problems.delete(service);
    else {
      this.problems.set(service, message);
      this.log(`${service}: ${message}`);
    }
    this.report(service, message);
  }

  private async apply(table: RouteTable): Promise<void> {
    const wanted = new Map<number, string>();
    const seen = new Set<string>();
    for (const r of table.routes) {
      if (r.publishPort === undefined) continue;
      seen.add(r.service);
      const port = parsePublishPort(r.publishPort);
      if (typeof port === 'string') this.problem(r.service, port);
      else if (wanted.has(port)) this.problem(r.service, `PUBLISH_PORT ${port} is already published by service ${wanted.get(port) ?? ''}`);
      else wanted.set(port, r.service);
    }
    for (const [port, p] of [...this.open]) {
      if (wanted.get(port) === p.service) continue;
      this.open.delete(port);
      await new Promise<void>((r) => {
        p.server.close(() => r());
        p.server.closeAllConnections();
      });
      this.log(`${p.service}: no longer published on port ${port}`);
    }
    for (const [port, service] of wanted) {
      if (this.open.has(port)) {
        this.problem(service, null);
        continue;
      }
      const server = this.serverFor(service);
      try {
        const held = this.inherited.get(port);
        this.inherited.delete(port);
        await (held ? listenOn(server, held) : listen(server, port, this.host));
        this.open.set(port, { service, server });
        this.log(`${service}: published on http://${this.host}:${port}/`);
        this.problem(service, null);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        const why = err.code === 'EADDRINUSE' ? 'the port is already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
        this.problem(service, `PUBLISH_PORT ${port} cannot be served on ${this.host}: ${why}`);
      }
    }
    for (const service of [...this.problems.keys()]) if (!seen.has(service)) this.problem(service, null);
  }

  private serverFor(service: string): Server {
    const request = (req: IncomingMessage, res: ServerResponse): void => {
      const route = this.table().find(service);
      if (!route) return plain(res, 404, `404 service ${service} is not ordered any more\n`);
      const inb = inbound(req);
      if ('refused' in inb) return plain(res, 400, `400 bad request: ${inb.refused}\n`, { connection: 'close' });
      if (!this.gate) return serveRoute(req, res, route, inb.target, '/', inb.upstreamHost, this.limits);
      this.gate.request(req, res, route, inb.target, (r, extras) => serveRoute(req, res, r, inb.target, '/', inb.upstreamHost, this.limits, extras), () => request(req, res));
    };
    const upgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (!isWebSocket(req)) return asPlainRequest(req, socket, request);
      const route = this.table().find(service);
      if (!route) return rawAnswer(socket, 404, 'Not Found', `404 service ${service} is not ordered any more\n`);
      const inb = inbound(req);
      if ('refused' in inb) return rawAnswer(socket, 400, 'Bad Request', `400 bad request: ${inb.refused}\n`);
      if (!this.gate) return serveUpgrade(req, socket, head, route, inb.target, '/', inb.upstreamHost, this.limits);
      this.gate.upgrade(req, socket, route, inb.target, (r) => serveUpgrade(req, socket, head, r, inb.target, '/', inb.upstreamHost, this.limits), () => upgrade(req, socket, head));
    };
    return hardenedServer(this.limits, { request, upgrade });
  }

  /** Hand-over, new data plane: the old one's published sockets by port, used when the routes publish those ports. */
  adopt(held: ReadonlyMap<number, NetServer>): void {
    for (const [port, h] of held) this.inherited.set(port, h);
  }

  /** Hand-over, old data plane: the listening sockets by port. */
  listeners(): Map<number, NetServer> {
    return new Map([...this.open].map(([port, p]) => [port, p.server]));
  }

  /** Hand-over, old ship: stop accepting and let requests in flight finish; resolves with how many were cut. */
  async retire(graceMs: number): Promise<number> {
    await this.syncing;
    const left = await Promise.all([...this.open.values()].map((p) => drainServer(p.server, graceMs, { closeIdle: false })));
    return left.reduce((a, b) => a + b, 0);
  }

  async close(): Promise<void> {
    for (const h of this.inherited.values()) h.close();
    this.inherited.clear();
    await this.syncing;
    for (const p of this.open.values()) {
      p.server.closeAllConnections();
      p.server.close();
    }
    this.open.clear();
  }
}
