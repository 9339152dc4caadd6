import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FrontDoorLimits } from './limits.js';
import { proxyRequest } from './proxy.js';
import type { Route } from './routes.js';
import { proxyUpgrade, rawAnswer } from './upgrade.js';

export function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

type Verdict = { readonly ok: true } | { readonly ok: false; readonly status: 401; readonly body: string; readonly headers: Record<string, string> };

const OK: Verdict = { ok: true };

/** May this request use the route? Basic auth when the service has a .htpasswd. */
async function admit(req: IncomingMessage, route: Route): Promise<Verdict> {
  const guard = route.guard ?? null;
  if (guard === null) return OK;
  if (await guard.check(req.headers.authorization)) return OK;
  return { ok: false, status: 401, body: '401 unauthorized\n', headers: { 'www-authenticate': guard.challenge } };
}

/** A matched request: admitted, then proxied to the route's instance (503 when it has none). */
export function serveRoute(req: IncomingMessage, res: ServerResponse, route: Route, path: string, mount: string, limits: FrontDoorLimits): void {
  const go = (): void => {
    if (route.backend === null) return plain(res, 503, `503 service ${route.service} has no healthy instance\n`, { 'retry-after': '5' });
    proxyRequest(req, res, { backend: route.backend, path, mount, timeoutMs: limits.upstreamTimeoutMs });
  };
  if (!route.guard) return go();
  void admit(req, route).then((v) => (v.ok ? go() : plain(res, v.status, v.body, v.headers)));
}

/** The same for an upgrade request, answered on the raw socket. */
export function serveUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, route: Route, path: string, mount: string, limits: FrontDoorLimits): void {
  void admit(req, route).then((v) => {
    if (!v.ok) return rawAnswer(socket, v.status, 'Unauthorized', v.body, v.headers);
    if (route.backend === null) return rawAnswer(socket, 503, 'Service Unavailable', `503 service ${route.service} has no healthy instance\n`);
    proxyUpgrade(req, socket, head, { backend: route.backend, path, mount, timeoutMs: limits.upstreamTimeoutMs });
  });
}
