import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import { proxyRequest } from './proxy.js';
import { RouteTable } from './routes.js';

export interface FrontDoorOptions {
  readonly listen: string;
  readonly port: number;
  readonly log: Logger;
}

function plain(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers });
  res.end(body);
}

/**
 * The ship's HTTP port: `/starphleet/...` is the ship's own, everything else goes to the service mounted at the
 * longest matching prefix. The route table is replaced as a whole (setRoutes), never edited in place.
 */
export class FrontDoor {
  private table = new RouteTable([]);
  private readonly server: Server;

  private constructor() {
    this.server = createServer((req, res) => this.handle(req, res));
    // Clients keep connections open between requests; a restart of the ship must not wait for them.
    this.server.keepAliveTimeout = 5000;
  }

  static async start(opts: FrontDoorOptions): Promise<FrontDoor> {
    const fd = new FrontDoor();
    await new Promise<void>((resolve, reject) => {
      fd.server.once('error', reject);
      fd.server.listen(opts.port, opts.listen, () => {
        fd.server.off('error', reject);
        resolve();
      });
    });
    opts.log(`front door on http://${opts.listen}:${fd.port}`);
    return fd;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  get routes(): RouteTable {
    return this.table;
  }

  setRoutes(table: RouteTable): void {
    this.table = table;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const target = req.url ?? '/';
    if (target === '/starphleet/health' || target.startsWith('/starphleet/health?')) return plain(res, 200, 'ok\n');
    if (target === '/starphleet' || target.startsWith('/starphleet/')) return plain(res, 404, `404 not found: ${target.split('?')[0]}\n`);
    const m = this.table.match(target);
    if (m.kind === 'none') return plain(res, 404, `404 no service at ${target.split('?')[0]}\n`);
    if (m.kind === 'redirect') return plain(res, 301, `moved to ${m.location}\n`, { location: m.location });
    const { route } = m;
    if (route.backend === null) return plain(res, 503, `503 service ${route.service} has no healthy instance\n`, { 'retry-after': '5' });
    proxyRequest(req, res, { backend: route.backend, path: m.path, mount: route.mount });
  }

  async close(): Promise<void> {
    await new Promise<void>((r) => {
      this.server.close(() => r());
      this.server.closeAllConnections();
    });
    for (const r of this.table.routes) r.backend?.close();
  }
}
