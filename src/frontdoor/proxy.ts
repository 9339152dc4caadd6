import { request, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Backend } from './backend.js';

/** Hop-by-hop headers belong to one connection and are not forwarded (RFC 9110 7.6.1). */
const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'upgrade', 'transfer-encoding', 'proxy-authorization']);

function forwardHeaders(h: IncomingHttpHeaders, extra: Record<string, string>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined && !HOP.has(k)) out[k] = v;
  return { ...out, ...extra };
}

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

export interface ProxyTarget {
  readonly backend: Backend;
  /** Path and query as the instance sees them (mount stripped). */
  readonly path: string;
  readonly mount: string;
}

/**
 * Forwards one request to an instance over its kept-alive connections and counts it in flight until the client's
 * response is done. A bodiless GET/HEAD that fails on a reused socket before any answer is sent again once: the
 * instance closed an idle connection just as we picked it, which is a race of keep-alive, not a failure of the service.
 */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, t: ProxyTarget): void {
  const { backend } = t;
  backend.begin();
  let ended = false;
  const end = (): void => {
    if (!ended) {
      ended = true;
      backend.end();
    }
  };
  res.once('close', end);
  const remote = req.socket.remoteAddress ?? '';
  const prior = req.headers['x-forwarded-for'];
  const extra: Record<string, string> = {
    'x-forwarded-for': prior ? `${String(prior)}, ${remote}` : remote,
    'x-forwarded-proto': 'http',
    'x-forwarded-host': req.headers.host ?? '',
    'x-forwarded-prefix': t.mount === '/' ? '' : t.mount,
  };
  const retryable = (req.method === 'GET' || req.method === 'HEAD') && !hasBody(req);

  const send = (attempt: number): void => {
    const up = request(
      { host: '127.0.0.1', port: backend.port, method: req.method, path: t.path, headers: forwardHeaders(req.headers, extra), agent: backend.agent },
      (upRes: IncomingMessage) => {
        const headers: Record<string, string | string[]> = {};
        for (const [k, v] of Object.entries(upRes.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
        res.writeHead(upRes.statusCode ?? 502, upRes.statusMessage, headers);
        upRes.pipe(res);
        upRes.once('error', () => res.destroy());
        upRes.once('aborted', () => res.destroy());
      },
    );
    up.once('error', (e: NodeJS.ErrnoException) => {
      if (attempt === 0 && retryable && up.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && !res.headersSent && !res.destroyed) {
        send(1);
        return;
      }
      if (!res.headersSent) {
        res.writeHead(502, { 'content-type': 'text/plain; charset=utf-8' });
        res.end(`502 bad gateway: the instance did not answer (${e.code ?? e.message})\n`);
      } else res.destroy();
    });
    res.once('close', () => {
      if (!res.writableFinished) up.destroy();
    });
    if (retryable) up.end();
    else req.pipe(up);
  };
  send(0);
}
