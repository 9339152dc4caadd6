import type { AddressInfo, Server } from 'node:net';

export interface RetryingListener {
  /** The bound port, or null while the address is still taken. */
  port(): number | null;
  /** Stops retrying and closes the listener (open connections are cut). */
  close(): Promise<void>;
}

/** `http://host:port` of a bound server, v6 addresses bracketed. */
export function boundUrl(server: Server): string {
  const a = server.address() as AddressInfo;
  return `http://${a.family === 'IPv6' ? `[${a.address}]` : a.address}:${a.port}`;
}

/**
 * Listens on host:port; while the address is taken (the old ship of an update holds it until it exits; another
 * program) tries again every `retryMs`, saying so once. One 'error' and one 'listening' handler for all attempts:
 * `server.listen(port, host, cb)` adds its `cb` as a 'listening' listener that a failed attempt leaves behind, so N
 * failed tries used to end in N "listening" callbacks (and N log lines) at the one bind that worked.
 */
export function listenRetrying(
  server: Server,
  at: { readonly host: string; readonly port: number },
  o: { readonly what: string; readonly retryMs: number; readonly log: (line: string) => void; readonly bound: (server: Server) => void },
): RetryingListener {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let warned = false;
  const onError = (e: NodeJS.ErrnoException): void => {
    if (server.listening) return; // an error of a bound server is not a failed bind
    if (!warned) o.log(`${o.what}: cannot listen on ${at.host}:${at.port} (${e.code ?? e.message}): trying again every ${o.retryMs / 1000} s`);
    warned = true;
    if (stopped) return;
    timer = setTimeout(attempt, o.retryMs);
    timer.unref();
  };
  const onListening = (): void => o.bound(server);
  function attempt(): void {
    timer = null;
    if (!stopped) server.listen(at.port, at.host);
  }
  server.on('error', onError);
  server.once('listening', onListening);
  attempt();
  return {
    port: () => (server.listening ? (server.address() as AddressInfo).port : null),
    close: () =>
      new Promise<void>((resolve) => {
        stopped = true;
        if (timer) clearTimeout(timer);
        server.off('error', onError);
        server.off('listening', onListening);
        if (!server.listening) return resolve();
        const s = server as Server & { closeAllConnections?: () => void };
        s.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
