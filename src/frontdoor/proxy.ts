import { request, type ClientRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { Backend } from './backend.js';
import { endToEnd, upstreamHeaders } from './headers.js';
import { dialOptions } from './upstream.js';

export interface ProxyTarget {
  readonly backend: Backend;
  /** Path and query as the instance sees them (mount stripped). */
  readonly path: string;
  /** The mount the request came in under (`/` for a virtual host or a published port): X-Forwarded-Prefix. */
  readonly mount: string;
  /** An instance silent this long during a request: 504. */
  readonly timeoutMs: number;
}

/** Answers up to this size are collected and sent in one write instead of piped. */
const SMALL_BODY = 64 * 1024;

function hasBody(req: IncomingMessage): boolean {
  return req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
}

function fail(res: ServerResponse, status: number, text: string): void {
  if (res.headersSent || res.destroyed) {
    // The client got part of an answer already: only cutting its connection tells it the rest will not come.
    res.destroy();
    return;
  }
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(text);
}

/**
 * Forwards one request to an instance over its kept-alive connections, streaming both bodies with backpressure (pipe),
 * and keeps it counted on the backend until the client's response is done. A bodiless GET/HEAD that fails on a reused
 * socket before any answer is sent again once: the instance closed an idle connection just as we picked it, which is a
 * race of keep-alive, not a failure of the service.
 */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, t: ProxyTarget): void {
  const { backend } = t;
  let up: ClientRequest | null = null;
  const tracked = backend.track('request', () => {
    up?.destroy();
    res.destroy();
  });
  res.once('close', () => {
    tracked.done();
    if (!res.writableFinished) up?.destroy();
  });
  const headers = upstreamHeaders(req, t.mount);
  const retryable = (req.method === 'GET' || req.method === 'HEAD') && !hasBody(req);

  const send = (attempt: number): void => {
    const u = request({ ...dialOptions(backend.upstream), method: req.method, path: t.path, headers, agent: backend.agent }, (upRes) => {
      const stream = (upRes.headers['content-type'] ?? '').startsWith('text/event-stream');
      if (stream) {
        // Server-sent events are meant to stay open and quiet: they are drained like WebSockets, not timed out.
        tracked.kind = 'stream';
        u.setTimeout(0);
        req.socket.setTimeout(0);
      }
      const status = upRes.statusCode ?? 502;
      const headers = endToEnd(upRes.rawHeaders, false);
      upRes.once('aborted', () => res.destroy());
      upRes.once('error', () => res.destroy());
      const length = Number(upRes.headers['content-length'] ?? NaN);
      if (!stream && length <= SMALL_BODY) {
        // A small answer goes out as head and body in one write: half the syscalls of piping it.
        const chunks: Buffer[] = [];
        upRes.on('data', (c: Buffer) => chunks.push(c));
        upRes.once('end', () => {
          res.writeHead(status, upRes.statusMessage, headers);
          res.end(chunks.length === 1 ? chunks[0] : Buffer.concat(chunks));
        });
        return;
      }
      res.writeHead(status, upRes.statusMessage, headers);
      if (stream) res.flushHeaders();
      upRes.pipe(res);
    });
    up = u;
    u.setTimeout(t.timeoutMs, () => {
      const e: NodeJS.ErrnoException = new Error(`the instance sent nothing for ${t.timeoutMs / 1000} s`);
      e.code = 'ETIMEDOUT';
      u.destroy(e);
    });
    u.once('error', (e: NodeJS.ErrnoException) => {
      if (attempt === 0 && retryable && u.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE') && !res.headersSent && !res.destroyed) {
        send(1);
        return;
      }
      if (e.code === 'ETIMEDOUT') fail(res, 504, `504 gateway timeout: ${e.message}\n`);
      else fail(res, 502, `502 bad gateway: the instance failed before answering (${e.code ?? e.message})\n`);
    });
    if (retryable) u.end();
    else req.pipe(u);
  };
  send(0);
}
