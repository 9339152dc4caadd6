import { rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../../log.js';
import { peerOf } from '../../util/peer-cred.js';
import { AuthBackoff } from '../basic-auth/backoff.js';
import type { OpenCounts } from '../embedded/backend.js';
import { plain, serveRoute, serveUpgrade } from '../embedded/dispatch.js';
import { HashChecks } from '../basic-auth/hash-checks.js';
import { endToEnd } from '../embedded/headers.js';
import type { FrontDoorLimits } from '../embedded/limits.js';
import { PlaneRoutes } from '../embedded/plane-routes.js';
import { RouteTable } from '../embedded/routes.js';
import { rawAnswer } from '../embedded/upgrade.js';
import type { WireTable } from '../protocol/wire.js';
import { PauseQueues, type Held } from './pause-queue.js';
import { decide } from './route-traffic.js';
import { listenUnix } from '../../util/unix-listen.js';
import { HOLD_SERVICE, HOLD_SIDE } from '../protocol/wire-traffic.js';

const RETRY = { 'retry-after': '5' };

/** The request's headers as nginx made them (Host, X-Forwarded-*, ...), hop-by-hop ones and ours left out. */
function passedHeaders(req: IncomingMessage): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  const raw = endToEnd(req.rawHeaders, false);
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    if (name === HOLD_SERVICE || name === HOLD_SIDE) continue;
    const had = out[name];
    const value = raw[i + 1] as string;
    out[name] = had === undefined ? value : Array.isArray(had) ? [...had, value] : [had, value];
  }
  return out;
}

function sideOf(req: IncomingMessage): 'old' | 'new' | undefined {
  const v = req.headers[HOLD_SIDE];
  return v === 'new' ? 'new' : v === 'old' ? 'old' : undefined;
}

/**
 * The nginx plane's holding socket (`<data>/dataplane/hold.sock`): while a service is paused, nginx proxies its
 * requests here (after its own parsing, auth and headers), and this process holds them in arrival order until the
 * ship's table resumes the service, then sends them on to the service's instances itself. Its peers are nginx's
 * workers only (SO_PEERCRED: the workers' user, root or this process's uid): anyone else could skip nginx's auth.
 */
export class HoldServer {
  private table = new RouteTable([]);
  private readonly routes = new PlaneRoutes(new HashChecks(), new AuthBackoff(() => undefined));
  private readonly queues = new PauseQueues();

  private constructor(
    private readonly server: Server,
    private readonly limits: FrontDoorLimits,
  ) {}

  static async start(path: string, peers: readonly number[], limits: FrontDoorLimits, log: Logger): Promise<HoldServer> {
    rmSync(path, { force: true });
    let me: HoldServer | null = null;
    const server = createServer({ requestTimeout: 0, headersTimeout: limits.headersTimeoutMs });
    server.on('connection', (socket: Socket) => {
      try {
        const p = peerOf(socket);
        if (peers.includes(p.uid)) return;
        log(`hold socket ${path}: refused peer pid ${p.pid} uid ${p.uid} (not nginx's workers)`);
      } catch (e) {
        log(`hold socket ${path}: refused a peer that could not be checked: ${(e as Error).message}`);
      }
      socket.destroy();
    });
    server.on('request', (req: IncomingMessage, res: ServerResponse) => me?.request(req, res));
    server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => me?.upgrade(req, socket, head));
    await listenUnix(server, path, 0o660);
    me = new HoldServer(server, limits);
    return me;
  }

  /** The table nginx serves now: requests of services it no longer pauses go on, in order. */
  setTable(t: WireTable): void {
    // nginx checked the passwords already: no route here asks again.
    this.table = this.routes.build({ routes: t.routes.map((r) => ({ ...r, auth: null })) });
    this.queues.settle((service) => {
      const r = this.table.find(service);
      return !r ? 'gone' : r.traffic?.pause ? 'paused' : 'serving';
    });
  }

  /** What this socket has open to an instance (released requests it proxies): the nginx plane's counts add it. */
  counts(instance: string): OpenCounts {
    return this.routes.counts(instance);
  }

  private request(req: IncomingMessage, res: ServerResponse): void {
    const service = String(req.headers[HOLD_SERVICE] ?? '');
    const route = this.table.find(service);
    if (!route) return plain(res, 503, `503 service ${service} is not served here now: try again\n`, RETRY);
    const path = req.url ?? '/';
    const d = decide(route, path, req.headers, sideOf(req));
    if (d.kind === 'maintenance') return plain(res, 503, d.answer.body, { ...d.answer.headers, 'content-type': d.answer.contentType });
    if (d.kind === 'route') return serveRoute(req, res, d.route, path, route.mount, '', this.limits, { headers: passedHeaders(req) });
    const held: Held = {
      release: () =>
        new Promise<void>((resolve) => {
          res.once('close', () => resolve());
          this.request(req, res);
        }),
      refuse: (why) => plain(res, 503, why, RETRY),
      onGone: (cb) => res.once('close', cb),
    };
    this.queues.hold(service, held, d.pause);
  }

  private upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const service = String(req.headers[HOLD_SERVICE] ?? '');
    const route = this.table.find(service);
    if (!route) return rawAnswer(socket, 503, 'Service Unavailable', `503 service ${service} is not served here now\n`, RETRY);
    const path = req.url ?? '/';
    const d = decide(route, path, req.headers, sideOf(req));
    if (d.kind === 'maintenance') return rawAnswer(socket, 503, 'Service Unavailable', d.answer.body, d.answer.headers);
    if (d.kind === 'route') return serveUpgrade(req, socket, head, d.route, path, route.mount, '', this.limits, { headers: passedHeaders(req) });
    const held: Held = {
      release: () => {
        this.upgrade(req, socket, head);
        return Promise.resolve();
      },
      refuse: (why) => rawAnswer(socket, 503, 'Service Unavailable', why, RETRY),
      onGone: (cb) => socket.once('close', cb),
    };
    this.queues.hold(service, held, d.pause);
  }

  async close(): Promise<void> {
    this.queues.refuseAll('503 the data plane is stopping: try again\n');
    this.routes.close();
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
  }
}
