import { ServerResponse, type IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { parseTarget } from './request-target.js';

/**
 * What the front door makes of a request before it routes it (docs/http.md): the normalised target, the host that
 * picks a virtual host, and the Host the instance gets. The nginx plane does the same with its own parser and maps.
 */
export interface Inbound {
  /** Normalised path (escaped again) and the query as sent. */
  readonly target: string;
  /** The absolute-form target's host, else the Host header: what virtual hosts match. */
  readonly host: string | undefined;
  /** The Host the instance gets: the absolute-form host, else the client's Host, else the address it connected to. */
  readonly upstreamHost: string;
}

/** Names a client may list in Connection (their headers are dropped); any other name is refused, as nginx cannot drop it. */
const HOP_NAMES = new Set(['close', 'keep-alive', 'upgrade', 'te', 'trailer', 'http2-settings', 'proxy-connection']);

function connectionNamesOther(raw: readonly string[]): string | null {
  for (let i = 0; i < raw.length; i += 2) {
    if ((raw[i] as string).toLowerCase() !== 'connection') continue;
    for (const token of (raw[i + 1] as string).split(',')) {
      const t = token.trim().toLowerCase();
      if (t !== '' && !HOP_NAMES.has(t)) return t;
    }
  }
  return null;
}

function localHost(req: IncomingMessage): string {
  const a = req.socket.localAddress ?? '127.0.0.1';
  const host = a.startsWith('::ffff:') ? a.slice(7) : a.includes(':') ? `[${a}]` : a;
  return `${host}:${req.socket.localPort ?? 0}`;
}

/** The request as the front door routes it, or why it is refused with 400. */
export function inbound(req: IncomingMessage): Inbound | { readonly refused: string } {
  const t = parseTarget(req.url ?? '/');
  if (!t.ok) return { refused: t.error };
  const named = connectionNamesOther(req.rawHeaders);
  if (named !== null) return { refused: `Connection names ${JSON.stringify(named)}, which the front door will not forward` };
  // HTTP/2 names the host in :authority (a Host header, if sent, must agree, RFC 9113 8.3.1).
  const given = req.headers.host ?? (req.headers[':authority'] as string | undefined);
  const host = t.host ?? given;
  return { target: t.path + t.query, host, upstreamHost: t.host ?? given ?? localHost(req) };
}

/** Only a WebSocket upgrade passes (h2c and anything else are ignored: the request is answered as HTTP/1.1). */
export function isWebSocket(req: IncomingMessage): boolean {
  return (req.headers.upgrade ?? '').trim().toLowerCase() === 'websocket';
}

/**
 * An upgrade request that is not a WebSocket (`Upgrade: h2c`, ...), which Node hands over as a raw socket, answered as
 * the plain request it also is: a ServerResponse on that socket, which closes after it (its parser is gone). One with a
 * body is refused: Node has not read it.
 */
export function asPlainRequest(req: IncomingMessage, socket: Duplex, handle: (req: IncomingMessage, res: ServerResponse) => void): void {
  const res = new ServerResponse(req);
  res.shouldKeepAlive = false;
  res.assignSocket(socket as Socket);
  res.once('finish', () => {
    res.detachSocket(socket as Socket);
    socket.end();
  });
  const hasBody = req.headers['transfer-encoding'] !== undefined || (req.headers['content-length'] ?? '0') !== '0';
  if (hasBody) {
    res.writeHead(400, { 'content-type': 'text/plain; charset=utf-8', connection: 'close' });
    res.end('400 bad request: an upgrade other than websocket with a body\n');
    return;
  }
  if (!req.complete) req.push(null);
  handle(req, res);
}
