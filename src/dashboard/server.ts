import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { CommandShip } from '../commands/command.js';
import type { Logger } from '../log.js';
import { listenRetrying } from '../util/listen-retry.js';
import type { MetricsListen } from '../settings/metrics-listen.js';
import { Dashboard } from './dashboard.js';
import type { DashboardSessions } from './sessions.js';

const RETRY_MS = 5000;

/** The address a link should name: the listen host, or the ship's public name when it listens on every address. */
function linkHost(host: string, publicHost: string): string {
  if (host === '0.0.0.0' || host === '::') return publicHost;
  return host.includes(':') ? `[${host}]` : host;
}

/**
 * The dashboard's own listener (--dashboard-listen, default loopback): an origin no service shares, so no service's
 * page can script it. Retried like the metrics listener while the address is taken (the old ship of an update holds it
 * until it exits).
 */
export function serveDashboard(
  ship: CommandShip,
  sessions: DashboardSessions,
  at: MetricsListen,
  o: { readonly publicHost: string; readonly log: Logger },
): { close(): Promise<void>; url(): string | null } {
  const dashboard = new Dashboard(ship, sessions, o.log);
  const server: Server = createServer({ headersTimeout: 20_000, requestTimeout: 0 }, (req, res) => {
    const fail = (e: unknown): void => {
      o.log(`dashboard: ${req.method} ${(req.url ?? '/').split('?')[0]} failed: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`500 ${(e as Error).message}\n`);
    };
    try {
      void Promise.resolve(dashboard.handle(req, res, req.socket.remoteAddress ?? 'unknown')).catch(fail);
    } catch (e) {
      fail(e);
    }
  });
  const listener = listenRetrying(server, at, {
    what: 'dashboard',
    retryMs: RETRY_MS,
    log: o.log,
    bound: (s) => {
      const a = s.address() as AddressInfo;
      o.log(`dashboard on http://${linkHost(a.address, o.publicHost)}:${a.port}/ (its own origin; starphleet dashboard prints a login link)`);
    },
  });
  return {
    close: () => listener.close(),
    url: () => {
      const port = listener.port();
      return port === null ? null : `http://${linkHost(at.host, o.publicHost)}:${port}/`;
    },
  };
}
