import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Dispatcher } from 'undici';
import { endToEnd, upstreamHeaders } from './headers.js';
import type { InstancePool, Tracked } from './instance-pool.js';
import { isH2 } from './h2.js';

export interface ProxyTarget {
  readonly backend: InstancePool;
  /** Path and query as the instance sees them (mount stripped). */
  readonly path: string;
  /** The mount the request came in under (`/` for a virtual host or a published port): X-Forwarded-Prefix. */
  readonly mount: string;
  /** The Host the instance gets (inbound.ts). */
  readonly host: string;
  /** An instance silent this long before its answer's head: 504. */
  readonly timeoutMs: number;
  /** Another instance of the route than the one given, if it has one (a retry goes there: nginx's proxy_next_upstream). */
  readonly another?: (not: InstancePool) => InstancePool | null;
  /** The headers the instance gets, when the caller made them (the nginx plane's held requests: nginx's own). */
  readonly headers?: Record<string, string | string[]>;
  /** Header name/value pairs added to the instance's answer (a rollout's Set-Cookie), after the instance's own. */
  readonly answerHeaders?: readonly string[];
}

/**
 * Errors before any answer after which a bodiless GET/HEAD is sent again: a kept-alive connection the instance closed
 * as it was picked, or an instance gone (killed, crashed) — then to another instance of the route when there is one.
 */
const RETRY_CODES = new Set(['UND_ERR_SOCKET', 'ECONNRESET', 'ECONNREFUSED', 'ENOENT', 'EPIPE']);

/** Answers up to this size are collected and sent in one write (head and body) instead of streamed. */
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
  res.writeHead(status, isH2(res.req) ? { 'content-type': 'text/plain; charset=utf-8' } : { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
  res.end(text);
}

/** The instance's head to the client (HTTP/2 has no status message). */
function writeHead(res: ServerResponse, h2: boolean, status: number, message: string, head: string[]): void {
  if (h2) res.writeHead(status, head);
  else res.writeHead(status, message, head);
}

function rawStrings(raw: readonly Buffer[]): string[] {
  const out = new Array<string>(raw.length);
  for (let i = 0; i < raw.length; i++) out[i] = (raw[i] as Buffer).toString('latin1');
  return out;
}

/**
 * Forwards one request through the instance's undici Pool with its legacy handler calls (raw header buffers, data
 * with backpressure), streaming both bodies; it stays counted (tracked) until the client's response is done. A bodiless
 * GET/HEAD that fails before any answer is sent once more: the instance closed an idle kept-alive connection just as
 * it was picked, a race of keep-alive, not a failure of the service.
 */
export function proxyRequest(req: IncomingMessage, res: ServerResponse, t: ProxyTarget, tracked: Tracked): void {
  let abort: ((e?: Error) => void) | null = null;
  let backend = t.backend;
  let current = tracked;
  tracked.close = () => {
    // An event stream has no length: ending it (the last chunk) is its clean close; the client reconnects.
    if (current.kind === 'stream' && res.headersSent) {
      res.end();
      abort?.(new Error('closed by the drain'));
      return;
    }
    // The client's connection first: a half-sent answer must not look complete, and no 502 follows the abort.
    res.destroy();
    abort?.(new Error('closed by the drain'));
  };
  res.once('close', () => {
    current.done();
    if (!res.writableFinished) abort?.(new Error('the client went away'));
  });
  const headers = t.headers ?? upstreamHeaders(req, t.mount, t.host);
  const h2 = isH2(req);
  const retryable = (req.method === 'GET' || req.method === 'HEAD') && !hasBody(req);

  const send = (attempt: number): void => {
    let small: Buffer[] | null = null;
    let status = 502;
    let message = '';
    let head: string[] = [];
    let answered = false;
    const handler: Dispatcher.DispatchHandler = {
      onConnect(a) {
        abort = a;
        if (res.destroyed) a(new Error('the client went away'));
      },
      onHeaders(code, raw, resume, statusText) {
        if (code < 200) return true;
        answered = true;
        status = code;
        message = statusText;
        head = endToEnd(rawStrings(raw), false);
        if (t.answerHeaders) head.push(...t.answerHeaders);
        let length = NaN;
        let stream = false;
        for (let i = 0; i < head.length; i += 2) {
          const name = (head[i] as string).toLowerCase();
          if (name === 'content-length') length = Number(head[i + 1]);
          else if (name === 'content-type') stream = (head[i + 1] as string).startsWith('text/event-stream');
        }
        if (stream) {
          // Server-sent events are meant to stay open and quiet: they are drained like WebSockets, not timed out.
          current.kind = 'stream';
          req.socket.setTimeout(0);
        }
        if (!stream && length <= SMALL_BODY) {
          small = [];
          return true;
        }
        writeHead(res, h2, status, message, head);
        if (stream) res.flushHeaders();
        res.on('drain', resume);
        return true;
      },
      onData(chunk) {
        if (small) {
          small.push(chunk);
          return true;
        }
        return res.write(chunk);
      },
      onComplete() {
        if (small) {
          writeHead(res, h2, status, message, head);
          res.end(small.length === 1 ? small[0] : Buffer.concat(small));
        } else res.end();
      },
      onError(e: Error & { code?: string }) {
        if (!answered && attempt === 0 && retryable && !res.destroyed && RETRY_CODES.has(e.code ?? '')) {
          const other = t.another?.(backend) ?? null;
          if (other) {
            // Counted on the instance it now waits for, so that one's drain waits for it and the failed one's does not.
            const next = other.track(current.kind, current.close);
            current.done();
            current = next;
            backend = other;
          }
          send(1);
          return;
        }
        if (res.destroyed || res.writableEnded) return;
        // The instance went in the middle of an event stream: the stream ends, as the drain ends one.
        if (answered && current.kind === 'stream' && res.headersSent) return void res.end();
        if (e.code === 'UND_ERR_HEADERS_TIMEOUT') fail(res, 504, `504 gateway timeout: the instance sent nothing for ${t.timeoutMs / 1000} s\n`);
        else if (answered) res.destroy();
        else fail(res, 502, `502 bad gateway: the instance failed before answering (${e.code ?? e.message})\n`);
      },
    };
    try {
      backend.dispatcher.dispatch(
        {
          path: t.path,
          method: req.method ?? 'GET',
          headers,
          body: retryable ? null : req,
          headersTimeout: t.timeoutMs,
          // Event streams and long downloads may stay quiet: a stuck client connection ends by its own idle timeout.
          bodyTimeout: 0,
          idempotent: retryable,
        },
        handler,
      );
    } catch (e) {
      fail(res, 502, `502 bad gateway: ${(e as Error).message}\n`);
    }
  };
  send(0);
}
