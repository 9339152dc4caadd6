import { request, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { endToEnd, upstreamHeaders } from './headers.js';
import type { Tracked } from './instance-pool.js';
import type { ProxyTarget } from './proxy.js';
import { dialOptions } from '../protocol/upstream.js';
import { WsFrames } from './ws-going-away.js';

/** How long a client has to answer the data plane's close frame before its connection is dropped. */
const GOING_AWAY_MS = 5000;

/** A raw HTTP/1.1 answer on a socket that left the HTTP server (upgrade requests have no ServerResponse). */
export function rawAnswer(socket: Duplex, status: number, reason: string, body: string, headers: Record<string, string> = {}): void {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const lines = [`HTTP/1.1 ${status} ${reason}`, 'content-type: text/plain; charset=utf-8', `content-length: ${Buffer.byteLength(body)}`, 'connection: close'];
  for (const [k, v] of Object.entries(headers)) lines.push(`${k}: ${v}`);
  socket.end(`${lines.join('\r\n')}\r\n\r\n${body}`);
}

function head(res: IncomingMessage, headers: readonly string[]): string {
  const lines = [`HTTP/1.1 ${res.statusCode ?? 502} ${res.statusMessage ?? ''}`];
  for (let i = 0; i < headers.length; i += 2) lines.push(`${headers[i] as string}: ${headers[i + 1] as string}`);
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/**
 * An upgrade (WebSocket) through to the instance on a connection of its own, then bytes both ways with backpressure.
 * It counts on the backend as long-lived until either side closes, so a drain waits for it and closes it at the timeout.
 */
export function proxyUpgrade(req: IncomingMessage, socket: Duplex, clientHead: Buffer, t: ProxyTarget, tracked: Tracked): void {
  const { backend } = t;
  let upSocket: Duplex | null = null;
  let finished = false;
  /** A WebSocket's instance-to-client side, frame by frame: it can end with a close frame (1001) instead of a reset. */
  let frames: WsFrames | null = null;
  tracked.close = () => goAway();
  function finish(): void {
    if (finished) return;
    finished = true;
    tracked.done();
    socket.destroy();
    upSocket?.destroy();
  }
  /** Drain timeout: the client gets 1001 between two frames, then a few seconds to answer it before the reset. */
  function goAway(): void {
    if (!frames || finished) return finish();
    frames.goAway();
    setTimeout(finish, GOING_AWAY_MS).unref();
  }
  /** The instance ended: a WebSocket's client still gets a close frame (after the frame in flight), not a reset. */
  function instanceGone(): void {
    if (!frames || finished) return finish();
    frames.end();
    setTimeout(finish, GOING_AWAY_MS).unref();
  }
  socket.once('close', finish);
  socket.on('error', finish);

  const headers = { ...(t.headers ?? upstreamHeaders(req, t.mount, t.host)) };
  headers.connection = 'upgrade';
  headers.upgrade = req.headers.upgrade ?? '';
  const up = request({ ...dialOptions(backend.upstream), method: req.method, path: t.path, headers, agent: false });
  up.setTimeout(t.timeoutMs, () => up.destroy(Object.assign(new Error(`the instance sent nothing for ${t.timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })));
  up.once('upgrade', (upRes, s, upHead) => {
    upSocket = s;
    up.setTimeout(0);
    s.setTimeout(0);
    if (finished) {
      s.destroy();
      return;
    }
    // The 101 keeps its Upgrade and Connection headers: they are what the switch of protocols is.
    socket.write(head(upRes, upRes.rawHeaders));
    if (upHead.length > 0) socket.write(upHead);
    if (clientHead.length > 0) s.write(clientHead);
    s.on('error', instanceGone);
    s.once('close', instanceGone);
    if ((upRes.headers.upgrade ?? '').toLowerCase() === 'websocket') {
      const f = (frames = new WsFrames());
      s.pipe(f).pipe(socket);
    } else s.pipe(socket);
    socket.pipe(s);
  });
  up.once('response', (upRes) => {
    // The instance said no to the upgrade: its answer goes to the client as it is, then the connection closes.
    socket.write(head(upRes, [...endToEnd(upRes.rawHeaders, false), 'connection', 'close']));
    upRes.pipe(socket);
  });
  up.once('error', (e: NodeJS.ErrnoException) => {
    if (upSocket === null && !finished) {
      if (e.code === 'ETIMEDOUT') rawAnswer(socket, 504, 'Gateway Timeout', `504 gateway timeout: ${e.message}\n`);
      else rawAnswer(socket, 502, 'Bad Gateway', `502 bad gateway: the instance failed before answering (${e.code ?? e.message})\n`);
      // The answer is on its way; the client socket's close ends the rest.
      return;
    }
    finish();
  });
  up.end();
}
