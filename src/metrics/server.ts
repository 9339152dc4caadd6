import { createServer, type Server } from 'node:http';
import type { Logger } from '../log.js';
import { boundUrl, listenRetrying, type RetryingListener } from '../util/listen-retry.js';
import type { MetricsListen } from '../settings/metrics-listen.js';
import type { ShipMetrics } from './ship-metrics.js';

const RETRY_MS = 5000;

/**
 * Serves GET /metrics on its own listener. The address may be taken for a while (the old ship of an update holds it
 * until it exits; another program): the ship then keeps serving everything else and tries again every few seconds,
 * saying so once in its log.
 */
export function serveMetrics(metrics: ShipMetrics, at: MetricsListen, log: Logger): RetryingListener {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '').split('?')[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('405 method not allowed\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('404: the metrics are at /metrics\n');
      return;
    }
    metrics.exposition().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(req.method === 'HEAD' ? undefined : text),
      (e: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`500: ${(e as Error).message}\n`),
    );
  });
  server.requestTimeout = 30_000;
  return listenRetrying(server, at, { what: 'metrics', retryMs: RETRY_MS, log, bound: (s) => log(`metrics: Prometheus exposition at ${boundUrl(s)}/metrics`) });
}
