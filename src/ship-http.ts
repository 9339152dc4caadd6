import { mkdirSync, renameSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import type { Agent } from './agent/agent.js';
import type { CommandShip } from './commands/command.js';
import { shareSocketWithWorkers } from './dataplane/nginx/nginx-user.js';
import { planePaths } from './data-dir/plane-paths.js';
import type { Headquarters } from './headquarters/headquarters.js';
import type { Logger } from './log.js';
import { auditDeny } from './state/audit.js';
import { Webhook } from './webhook/webhook.js';
import { previewWants } from './headquarters/previews-orders.js';
import { webhookSecretSetting } from './settings/phleet-settings.js';

/**
 * The ship's own HTTP server, on a unix socket in the data dir that both data planes proxy `/starphleet/webhook` to
 * (dataplane/embedded/ship-proxy.ts, dataplane/nginx/nginx-config.ts). Only root (the planes) can reach the socket, so the X-Forwarded-For the
 * plane sets is the client's address. While the ship is down that path answers 503. The dashboard is not here: it has
 * an origin of its own (dashboard/server.ts), which no service's page shares.
 */
/** A part of the ship's HTTP server: `remote` is the client's address as the data plane saw it. */
export interface ShipPage {
  handle(req: IncomingMessage, res: ServerResponse, remote: string): void | Promise<void>;
}

export async function startShipHttp(socketPath: string, parts: { webhook: ShipPage }, log: Logger): Promise<{ close(): Promise<void> }> {
  const server: Server = createServer({ headersTimeout: 20_000, requestTimeout: 0 }, (req, res) => {
    const remote = String(req.headers['x-forwarded-for'] ?? 'unknown').split(',')[0]?.trim() ?? 'unknown';
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const fail = (e: unknown): void => {
      log(`ship http: ${req.method} ${path} failed: ${(e as Error).stack ?? String(e)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' });
      res.end(`500 ${(e as Error).message}\n`);
    };
    try {
      const part = path === '/starphleet/webhook' ? parts.webhook : null;
      if (part) void Promise.resolve(part.handle(req, res, remote)).catch(fail);
      else {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' });
        res.end('404 not found\n');
      }
    } catch (e) {
      fail(e);
    }
  });
  // Longer than the data plane keeps an idle connection to it (ship-proxy.ts), so the plane is the one that closes.
  server.keepAliveTimeout = 65_000;
  mkdirSync(dirname(socketPath), { recursive: true, mode: 0o700 });
  // Bound under a name of its own, then renamed over the old one: a successor ship (update) replaces the path in one
  // step, and its predecessor closing its server later does not take the path with it.
  const fresh = `${socketPath}.${process.pid}`;
  rmSync(fresh, { force: true });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(fresh, () => resolve());
  });
  renameSync(fresh, socketPath);
  // nginx's workers (an unprivileged user of their own) proxy to it: their group may connect, nobody else.
  shareSocketWithWorkers(socketPath);
  log(`ship http (webhook) on ${socketPath}`);
  return {
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

/** What of the running ship the webhook uses (ship.ts's Ship is one). */
export interface WebShip extends CommandShip {
  readonly headquarters: CommandShip['headquarters'] & Pick<Headquarters, 'remote' | 'checkNow'>;
  readonly agent: CommandShip['agent'] & Pick<Agent, 'pulseNow' | 'checkFor' | 'webhookSeen'>;
}

/** The webhook of a ship, served on its socket (planePaths.shipHttp). */
export function startShipWeb(ship: WebShip, log: Logger): Promise<{ close(): Promise<void> }> {
  const hq = ship.headquarters;
  const webhook = new Webhook({
    secret: () => webhookSecretSetting(hq.current?.env),
    headquarters: () => hq.remote,
    services: () =>
      (hq.current?.services ?? []).map((s) => {
        const previews = s.orders.previews;
        return { name: s.name, giturl: s.orders.giturl, ...(s.orders.ref !== undefined ? { ref: s.orders.ref } : {}), ...(previews ? { previews: (ref: string) => previewWants(previews, ref) } : {}) };
      }),
    checkHeadquarters: () => void hq.checkNow(),
    checkServices: (names, because, giturls) => ship.agent.checkFor(names, because, giturls),
    webhookSeen: (giturls) => ship.agent.webhookSeen(giturls),
    refused: (remote, reason) => auditDeny(ship.db, { user: 'webhook', fingerprint: '', keyFile: '', remote, request: 'POST /starphleet/webhook', reason }),
    log,
  });
  return startShipHttp(planePaths.shipHttp(ship.options.dataDir), { webhook }, log);
}
