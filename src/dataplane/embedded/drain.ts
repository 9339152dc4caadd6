import type { Server } from 'node:http';
import { Server as NetServer } from 'node:net';
import { h2Of } from './h2.js';

/**
 * Stops accepting and waits until the requests in flight are answered, for up to graceMs: kept-alive connections are
 * closed as soon as they fall idle (the responses in between say `connection: close`, see FrontDoor). Resolves with
 * how many connections were still open when the grace ran out (0 when all ended by themselves).
 */
export function drainServer(server: Server, graceMs: number, o: { closeIdle?: boolean } = {}): Promise<number> {
  const closeIdle = o.closeIdle ?? true;
  return new Promise((resolve) => {
    let open = -1;
    const done = (n: number): void => {
      clearInterval(idle);
      clearTimeout(limit);
      resolve(n);
    };
    // http.Server.close() closes idle connections too (Node >= 19); net.Server's close only stops accepting.
    if (closeIdle) server.close(() => done(0));
    else NetServer.prototype.close.call(server, () => done(0));
    // HTTP/2 sessions get a GOAWAY: their streams in flight finish, then they close (and count as the rest do).
    void h2Of.get(server)?.retire(graceMs);
    const idle = setInterval(() => closeIdle && server.closeIdleConnections(), 100);
    const limit = setTimeout(() => {
      server.getConnections((_e, n) => {
        open = n;
        server.closeAllConnections();
        h2Of.get(server)?.close();
        done(open);
      });
    }, graceMs);
    if (closeIdle) server.closeIdleConnections();
  });
}
