import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { plain, type ProxyExtras } from '../embedded/dispatch.js';
import type { Route, RouteTable } from '../embedded/routes.js';
import { rawAnswer } from '../embedded/upgrade.js';
import { PauseQueues, type Held } from './pause-queue.js';
import { decide } from './route-traffic.js';

/**
 * `serve` proxies on the route decided; `again` runs the listener's whole handling of the request once more, against
 * the table in force then (a held request, released).
 */
type Again = () => void;

const PAUSED_RETRY = { 'retry-after': '5' };

/**
 * The embedded plane's traffic step between routing and proxying (the nginx plane does the same in its config and its
 * holding socket): maintenance answers, a pause holds, a rollout picks the side and sets its cookie.
 */
export class EmbeddedGate {
  readonly queues = new PauseQueues();

  /** idleTimeoutMs: the client connection's idle timeout, given back to a request once it is released. */
  constructor(private readonly idleTimeoutMs: number) {}

  request(req: IncomingMessage, res: ServerResponse, route: Route, path: string, serve: (route: Route, extras: ProxyExtras) => void, again: Again): void {
    const d = decide(route, path, req.headers);
    if (d.kind === 'maintenance') return plain(res, d.answer.status, d.answer.body, { ...d.answer.headers, 'content-type': d.answer.contentType });
    if (d.kind === 'route') return serve(d.route, d.setCookie ? { answerHeaders: ['set-cookie', d.setCookie] } : {});
    // Held: the connection may wait longer than its idle timeout while the service is paused.
    req.setTimeout(d.pause.maxPauseMs + 5000);
    const held: Held = {
      release: () =>
        new Promise<void>((resolve) => {
          res.once('close', () => resolve());
          req.setTimeout(this.idleTimeoutMs);
          again();
        }),
      refuse: (why) => {
        req.setTimeout(this.idleTimeoutMs);
        plain(res, 503, why, PAUSED_RETRY);
      },
      onGone: (cb) => res.once('close', cb),
    };
    this.queues.hold(route.service, held, d.pause);
  }

  upgrade(req: IncomingMessage, socket: Duplex, route: Route, path: string, serve: (route: Route) => void, again: Again): void {
    const d = decide(route, path, req.headers);
    if (d.kind === 'maintenance') return rawAnswer(socket, 503, 'Service Unavailable', d.answer.body, d.answer.headers);
    if (d.kind === 'route') return serve(d.route);
    const held: Held = {
      release: () => {
        again();
        return Promise.resolve();
      },
      refuse: (why) => rawAnswer(socket, 503, 'Service Unavailable', why, PAUSED_RETRY),
      onGone: (cb) => socket.once('close', cb),
    };
    this.queues.hold(route.service, held, d.pause);
  }

  /** A new table is in force: what it no longer pauses goes on, in order; what it no longer routes is refused. */
  settle(table: RouteTable): void {
    this.queues.settle((service) => {
      const r = table.find(service);
      return !r ? 'gone' : r.traffic?.pause ? 'paused' : 'serving';
    });
  }
}
