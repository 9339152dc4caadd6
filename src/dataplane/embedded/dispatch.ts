import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { AuthVerdict } from '../basic-auth/auth.js';
import type { Tracked } from './instance-pool.js';
import type { FrontDoorLimits } from './limits.js';
import { proxyRequest, type ProxyTarget } from './proxy.js';
import { pickBackend, pickOther, type Route } from './routes.js';
import { proxyUpgrade, rawAnswer } from './upgrade.js';
import { requestStats } from '../process/request-stats.js';
import { isH2 } from './h2.js';

export function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  const all: Record<string, string> = { 'content-type': 'text/plain; charset=utf-8', ...headers };
  // HTTP/2 has no Connection header (Node refuses one): the stream ends, the connection stays.
  if (isH2(res.req)) delete all.connection;
  res.writeHead(status, all);
  res.end(body);
}

const OK: AuthVerdict = { ok: true };

/** May this request use the route? Basic auth when the service has a .htpasswd. */
function admit(req: IncomingMessage, route: Route): Promise<AuthVerdict> {
  const guard = route.guard ?? null;
  if (guard === null) return Promise.resolve(OK);
  return guard.check(req.headers.authorization, req.socket.remoteAddress ?? '');
}

interface Refusal {
  readonly status: number;
  readonly reason: string;
  readonly body: string;
  readonly headers: Record<string, string>;
}

function refusal(v: AuthVerdict & { ok: false }, route: Route): Refusal {
  if (v.status === 401) return { status: 401, reason: 'Unauthorized', body: '401 unauthorized\n', headers: { 'www-authenticate': route.guard?.challenge ?? 'Basic' } };
  const headers = { 'retry-after': String(v.retryAfter ?? 1) };
  if (v.status === 429) return { status: 429, reason: 'Too Many Requests', body: '429 too many failed logins from this address: wait and try again\n', headers };
  return { status: 503, reason: 'Service Unavailable', body: '503 too many password checks at once: try again\n', headers };
}

/**
 * A matched request: counted on its instance from this moment (so a drain waits for it while its password is checked),
 * admitted, then proxied (503 when the route has no instance).
 */
/** What a caller may add to a proxied exchange: the instance's headers made already, headers added to the answer. */
export type ProxyExtras = Pick<ProxyTarget, 'headers' | 'answerHeaders'>;

export function serveRoute(req: IncomingMessage, res: ServerResponse, route: Route, path: string, mount: string, host: string, limits: FrontDoorLimits, extras: ProxyExtras = {}): void {
  const t0 = performance.now();
  res.once('close', () => requestStats.observe(route.service, res.statusCode, (performance.now() - t0) / 1000));
  const backend = pickBackend(route);
  if (backend === null) return plain(res, 503, `503 service ${route.service} has no healthy instance\n`, { 'retry-after': '5' });
  const tracked: Tracked = backend.track('request', () => res.destroy());
  const go = (): void => proxyRequest(req, res, { backend, path, mount, host, timeoutMs: limits.upstreamTimeoutMs, another: (not) => pickOther(route, not), ...extras }, tracked);
  if (!route.guard) return go();
  res.once('close', () => tracked.done());
  void admit(req, route).then((v) => {
    if (v.ok) return go();
    const r = refusal(v, route);
    plain(res, r.status, r.body, r.headers);
  });
}

/** The same for an upgrade request, answered on the raw socket. */
export function serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: Route, path: string, mount: string, host: string, limits: FrontDoorLimits, extras: ProxyExtras = {}): void {
  const backend = pickBackend(route);
  if (backend === null) return rawAnswer(socket, 503, 'Service Unavailable', `503 service ${route.service} has no healthy instance\n`);
  const tracked = backend.track('upgrade', () => socket.destroy());
  socket.once('close', () => tracked.done());
  void admit(req, route).then((v) => {
    if (!v.ok) {
      const r = refusal(v, route);
      return rawAnswer(socket, r.status, r.reason, r.body, r.headers);
    }
    proxyUpgrade(req, socket, head, { backend, path, mount, host, timeoutMs: limits.upstreamTimeoutMs, ...extras }, tracked);
  });
}
