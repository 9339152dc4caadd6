import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer as createH2Server, type Http2Server, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { Socket } from 'node:net';
import type { FrontDoorLimits } from './limits.js';

/**
 * HTTP/2 to clients on the embedded plane, beside HTTP/1.1 on the same ports: over TLS when the client picks `h2` by
 * ALPN, and in clear when a connection starts with HTTP/2's preface (prior knowledge; `Upgrade: h2c` is not taken,
 * docs/http.md). Each such connection goes to an HTTP/2 server of Node's whose requests (the compatibility API) go to
 * the same handler as HTTP/1.1's; instances keep getting HTTP/1.1.
 */
const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');

export type AnyRequest = IncomingMessage | Http2ServerRequest;
export type AnyResponse = ServerResponse | Http2ServerResponse;

/** An HTTP/2 request (connection-level headers such as Connection may not be sent on its answer). */
export function isH2(req: { readonly httpVersionMajor: number }): boolean {
  return req.httpVersionMajor === 2;
}

/** Each HTTP/1.1 server's HTTP/2 side (listener.ts makes both), for drains and stops. */
export const h2Of = new WeakMap<Server, H2Sessions>();

/** The HTTP/2 sessions of a port, for a graceful GOAWAY at hand-over and a hard close at stop. */
export class H2Sessions {
  readonly server: Http2Server;
  private readonly sessions = new Set<ServerHttp2Session>();

  constructor(limits: FrontDoorLimits, onRequest: (req: IncomingMessage, res: ServerResponse) => void) {
    this.server = createH2Server({
      maxSessionMemory: 64,
      settings: { maxConcurrentStreams: 256, maxHeaderListSize: limits.maxHeaderBytes, enablePush: false },
    });
    // The compatibility API's request and response stand in for HTTP/1.1's; what differs (pseudo-headers, no
    // Connection header on answers, no status message) is handled where they are used (isH2).
    this.server.on('request', (req: Http2ServerRequest, res: Http2ServerResponse) => onRequest(req as unknown as IncomingMessage, res as unknown as ServerResponse));
    this.server.on('session', (s: ServerHttp2Session) => {
      this.sessions.add(s);
      s.once('close', () => this.sessions.delete(s));
      s.setTimeout(limits.idleTimeoutMs, () => s.close());
    });
  }

  /** Takes a connection whose HTTP/1.1 or TLS handshake is done (h2 by ALPN) or which begins with the preface. */
  accept(socket: Socket): void {
    this.server.emit('connection', socket);
  }

  get open(): number {
    return this.sessions.size;
  }

  /** GOAWAY to every session: streams in flight finish, no new ones start; resolves when all closed (or at the grace). */
  async retire(graceMs: number): Promise<void> {
    for (const s of this.sessions) s.close();
    const deadline = Date.now() + graceMs;
    while (this.sessions.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    this.close();
  }

  close(): void {
    for (const s of this.sessions) s.destroy();
  }
}

/**
 * Clear port: a connection's first bytes decide. HTTP/2's preface goes to h2; anything else is given to HTTP/1.1's
 * own connection handling with those bytes put back (fed to its parser before any later byte is read).
 */
export function detectH2c(server: Server, h2: H2Sessions, started: (s: Socket) => void): void {
  const h1 = server.listeners('connection') as ((s: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    let seen: Buffer = Buffer.alloc(0);
    const onData = (d: Buffer): void => {
      seen = seen.length === 0 ? d : Buffer.concat([seen, d]);
      const n = Math.min(seen.length, PREFACE.length);
      const h2c = seen.subarray(0, n).equals(PREFACE.subarray(0, n));
      if (h2c && seen.length < PREFACE.length) return;
      socket.off('data', onData);
      socket.pause();
      socket.unshift(seen);
      if (h2c) {
        started(socket);
        h2.accept(socket);
        return;
      }
      for (const l of h1) l.call(server, socket);
      // Paused, the put-back bytes wait in the socket's buffer; resuming feeds them to the parser first.
      socket.resume();
    };
    socket.on('data', onData);
  });
}

/** TLS port: a connection that chose h2 by ALPN goes to HTTP/2, the rest to HTTPS's own handling. */
export function alpnH2(server: Server, h2: H2Sessions, started: (s: Socket) => void): void {
  const h1 = server.listeners('secureConnection') as ((s: Socket) => void)[];
  server.removeAllListeners('secureConnection');
  server.on('secureConnection', (socket: Socket & { alpnProtocol?: string | false }) => {
    if (socket.alpnProtocol === 'h2') {
      started(socket);
      h2.accept(socket);
      return;
    }
    for (const l of h1) l.call(server, socket);
  });
}
