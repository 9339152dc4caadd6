import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { Server as NetServer, Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import type { TlsOptions } from 'node:tls';
import type { FrontDoorLimits } from './limits.js';
import { alpnH2, detectH2c, H2Sessions, h2Of } from './h2.js';

export interface Handlers {
  request(req: IncomingMessage, res: ServerResponse): void;
  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
}

const CLIENT_ERRORS: Record<string, string> = {
  HPE_HEADER_OVERFLOW: '431 Request Header Fields Too Large',
  ERR_HTTP_REQUEST_TIMEOUT: '408 Request Timeout',
};

/** The answer's body: a 431 names the limit (docs/http.md), the rest their status. */
function clientErrorBody(status: string, limits: FrontDoorLimits): string {
  return status.startsWith('431') ? `431 request head larger than ${limits.maxHeaderBytes} bytes\n` : `${status}\n`;
}

/**
 * An HTTP server hardened the same way for the front door and every published port: whole request heads within a time
 * limit (slowloris), bounded head size (431), idle connections closed, malformed requests answered 400 and closed, and
 * at most so many connections in all and from one address, so a flood from one client leaves room for the others.
 */
export function hardenedServer(limits: FrontDoorLimits, h: Handlers, tls?: TlsOptions): Server {
  const started = new WeakSet<Duplex>();
  const options = {
    maxHeaderSize: limits.maxHeaderBytes,
    headersTimeout: limits.headersTimeoutMs,
    // No limit on a whole request: a 1 GB upload on a slow link is fine as long as it moves (idle timeout).
    requestTimeout: 0,
    connectionsCheckingInterval: Math.min(1000, limits.headersTimeoutMs),
    noDelay: true,
  };
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    started.add(req.socket);
    h.request(req, res);
  };
  // An https.Server is an http.Server that speaks TLS first: the same limits, handshakes bounded by the headers timeout.
  // HTTP/2 beside HTTP/1.1 (h2.ts): by ALPN over TLS, by its preface in clear. Hooked in before the listeners below,
  // which then see every connection (limits, first-request deadline) whichever protocol it speaks.
  const alpn = { ALPNProtocols: ['h2', 'http/1.1'] };
  const server: Server = tls ? createTlsServer({ ...options, ...tls, ...alpn, handshakeTimeout: limits.headersTimeoutMs }, onRequest) : createServer(options, onRequest);
  const h2 = new H2Sessions(limits, onRequest);
  h2Of.set(server, h2);
  if (tls) alpnH2(server, h2, (s) => started.add(s));
  else detectH2c(server, h2, (s) => started.add(s));
  server.keepAliveTimeout = limits.keepAliveTimeoutMs;
  // A client that sends its request and then half-closes (shutdown(SHUT_WR)) still gets the answer: Node's default
  // aborts the request at the client's FIN. (Node 20 has no option for it; the property is what the option sets.)
  (server as Server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;
  server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    started.add(socket);
    h.upgrade(req, socket, head);
  });

  const perAddress = new Map<string, number>();
  // Node enforces headersTimeout only once a request has begun: a connection that sends nothing (or a byte) would
  // sit until the idle timeout. Its first request head must be complete within the headers timeout (after TLS, the
  // request's socket is the TLS socket, so the deadline watches that one).
  const firstRequestDeadline = (socket: Socket): NodeJS.Timeout => {
    const deadline = setTimeout(() => {
      if (!started.has(socket)) socket.destroy();
    }, limits.headersTimeoutMs);
    deadline.unref();
    return deadline;
  };
  if (tls) {
    server.on('secureConnection', (s: Socket) => {
      const d = firstRequestDeadline(s);
      s.once('close', () => clearTimeout(d));
    });
  }
  server.on('connection', (socket: Socket) => {
    const addr = socket.remoteAddress ?? '';
    const n = (perAddress.get(addr) ?? 0) + 1;
    if (n > limits.maxConnectionsPerAddress) {
      socket.destroy();
      return;
    }
    perAddress.set(addr, n);
    const deadline = tls ? undefined : firstRequestDeadline(socket);
    socket.once('close', () => {
      clearTimeout(deadline);
      const left = (perAddress.get(addr) ?? 1) - 1;
      if (left <= 0) perAddress.delete(addr);
      else perAddress.set(addr, left);
    });
  });

  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    const status = CLIENT_ERRORS[err.code ?? ''] ?? '400 Bad Request';
    if (err.code !== 'ECONNRESET' && socket.writable) {
      const body = clientErrorBody(status, limits);
      socket.end(`HTTP/1.1 ${status}\r\ncontent-type: text/plain; charset=utf-8\r\nconnection: close\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    } else socket.destroy();
  });
  return server;
}

/** One bind attempt; a failed one leaves no listener behind (a `listen(port, host, cb)` would leave its `cb`). */
export function listen(server: Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const bound = (): void => {
      server.off('error', failed);
      resolve();
    };
    const failed = (e: Error): void => {
      server.off('listening', bound);
      reject(e);
    };
    server.once('error', failed);
    server.once('listening', bound);
    server.listen(port, host);
  });
}

/** Serves on a listening socket received from another process (the old data plane keeps it open until it retires). */
export function listenOn(server: NetServer, handle: NetServer): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(handle, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
