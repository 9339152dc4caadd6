import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loopbackUpstream } from '../../../src/dataplane/protocol/upstream.js';
import type { RequestStatsSnapshot } from '../../../src/dataplane/process/request-stats.js';
import { PLANES, startTestPlane } from '../../helpers/planes.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * The request tally behind starphleet_http_requests_total and the latency histogram, counted by each data plane
 * process (embedded: itself; nginx: its per-location request log, read back) and read over the control socket.
 */
for (const plane of PLANES) {
  describe(`request stats (${plane})`, () => {
    let dp: Awaited<ReturnType<typeof startTestPlane>>;
    let backend: Server;
    before(async () => {
      dp = await startTestPlane(plane);
      backend = createServer((req, res) => {
        if (req.url === '/slow') setTimeout(() => res.end('slow\n'), 300);
        else if (req.url === '/missing') res.writeHead(404).end('no\n');
        else res.end('ok\n');
      });
      await new Promise<void>((r) => backend.listen(0, '127.0.0.1', () => r()));
      const upstream = loopbackUpstream((backend.address() as AddressInfo).port);
      await dp.client.setTable({
        routes: [
          { mount: '/a', service: 'a', instance: { id: 'a1', upstream }, hosts: [], auth: null },
          { mount: '/down', service: 'down', instance: null, hosts: [], auth: null },
        ],
      });
    });
    after(async () => {
      await dp?.stop();
      backend?.close();
    });

    test('counts by service and status class, with latencies in the buckets', async () => {
      const port = dp.client.port;
      const get = async (path: string): Promise<number> => (await fetch(`http://127.0.0.1:${port}${path}`)).status;
      for (let i = 0; i < 10; i++) assert.equal(await get('/a/'), 200);
      for (let i = 0; i < 3; i++) assert.equal(await get('/a/missing'), 404);
      assert.equal(await get('/a/slow'), 200);
      for (let i = 0; i < 2; i++) assert.equal(await get('/down/'), 503);
      const s: RequestStatsSnapshot = await waitFor(async () => {
        const x = await dp.client.stats();
        return (x.services.a?.count ?? 0) >= 14 && (x.services.down?.count ?? 0) >= 2 ? x : null;
      }, 'the tally to show every request', 30_000, 250);
      const a = s.services.a;
      assert.ok(a);
      assert.deepEqual(a.classes, { '2xx': 11, '4xx': 3 });
      assert.equal(a.count, 14);
      assert.equal(a.buckets.reduce((x, y) => x + y, 0), 14);
      assert.equal(a.buckets.length, s.buckets.length + 1);
      // The slow request (300 ms) is above the 0.25 s bound.
      const above = a.buckets.slice(s.buckets.indexOf(0.25) + 1).reduce((x, y) => x + y, 0);
      assert.ok(above >= 1, `one request above 0.25 s: ${JSON.stringify(a.buckets)}`);
      assert.ok(a.sum >= 0.3, `sum ${a.sum}`);
      assert.deepEqual(s.services.down?.classes, { '5xx': 2 });
    });
  });
}
