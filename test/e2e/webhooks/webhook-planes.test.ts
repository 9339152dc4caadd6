import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { planePaths } from '../../../src/data-dir/plane-paths.js';
import { loopbackUpstream } from '../../../src/dataplane/protocol/upstream.js';
import { silent } from '../../../src/log.js';
import { startShipHttp } from '../../../src/ship-http.js';
import { Webhook } from '../../../src/webhook/webhook.js';
import { PLANES, startTestPlane } from '../../helpers/planes.js';
import { waitFor } from '../../helpers/wait.js';
import { githubPush, send } from '../../helpers/webhooks.js';

/**
 * The plumbing of /starphleet/webhook through both data planes to the ship's socket: 503 while no ship listens (apps
 * served all along), the client's address as the ship audits it, repeated headers kept, and nothing else under
 * /starphleet/ handed over: the dashboard is not on this origin (it has its own listener), so its old paths are 404.
 */
const SECRET = 'planes-secret';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

for (const plane of PLANES) {
  describe(`the ship's webhook path through the ${plane} data plane`, () => {
    let dp: Awaited<ReturnType<typeof startTestPlane>>;
    let app: Server;
    let web: { close(): Promise<void> } | null = null;
    const refused: { remote: string; reason: string }[] = [];
    const checks: string[] = [];

    before(async () => {
      dp = await startTestPlane(plane);
      app = createServer((req, res) => res.end(`app ${req.url}`));
      await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
      const appPort = (app.address() as AddressInfo).port;
      await dp.client.setTable({ routes: [{ mount: '/', service: 'root', instance: { id: 'r1', upstream: loopbackUpstream(appPort) }, hosts: [], auth: null }] });
    });
    after(async () => {
      await web?.close();
      await dp.stop();
      app.close();
    });

    test('no ship: 503 with a clear message on its paths only; apps and /starphleet/health answer', async () => {
      const port = dp.client.port;
      const r = await get(port, '/starphleet/webhook');
      assert.equal(r.status, 503, r.body);
      assert.match(r.body, /the ship is not running/);
      assert.equal((await get(port, '/starphleet/health')).status, 200);
      for (const path of ['/starphleet/dashboard', '/starphleet/dashboard/login?token=x', '/starphleet/dashboard/logs/app']) assert.equal((await get(port, path)).status, 404, `${path}: the dashboard has its own origin`);
      assert.equal((await get(port, '/starphleet/webhook/x')).status, 404);
      assert.equal((await get(port, '/starphleet/status')).status, 404);
      assert.equal((await get(port, '/hello')).body, 'app /hello');
    });

    test('with the ship listening: signed pushes reach it, the audit gets the real client address', async () => {
      const webhook = new Webhook({
        secret: () => SECRET,
        headquarters: () => ({ url: 'https://github.com/acme/hq.git', ref: undefined }),
        services: () => [{ name: 'app', giturl: 'git@github.com:acme/app.git' }],
        checkHeadquarters: () => checks.push('hq'),
        checkServices: () => checks.push('services'),
        refused: (remote, reason) => refused.push({ remote, reason }),
        log: silent,
      });
      web = await startShipHttp(planePaths.shipHttp(dp.dir), { webhook }, silent);
      const port = dp.client.port;
      const ok = await send(port, '/starphleet/webhook', githubPush(SECRET, { host: 'github.com', full: 'acme/app' }));
      assert.equal(ok.status, 202, ok.text);
      assert.deepEqual(ok.json().triggered, ['app']);
      assert.deepEqual(checks, ['services']);

      const forged = githubPush('wrong', { host: 'github.com', full: 'acme/app' });
      const r = await send(port, '/starphleet/webhook', { headers: [...forged.headers, ['X-Forwarded-For', '6.6.6.6']], body: forged.body });
      assert.equal(r.status, 401);
      assert.equal(refused.at(-1)?.remote, '127.0.0.1', 'the address the plane saw, not what the client claimed');

      const good = githubPush(SECRET, { host: 'github.com', full: 'acme/app' });
      const twice = await send(port, '/starphleet/webhook', { headers: [...good.headers, ['X-Hub-Signature-256', good.headers.find(([n]) => n === 'X-Hub-Signature-256')?.[1] ?? '']], body: good.body });
      assert.equal(twice.status, 401, `a repeated signature header stays repeated through the plane: ${twice.text}`);
      assert.equal((await send(port, '/starphleet/webhook', { headers: good.headers, body: Buffer.alloc(3 << 20, 'x') })).status, 413);

      // The ship's socket does not answer the dashboard's old paths either, with the ship up.
      assert.equal((await get(port, '/starphleet/dashboard/x?y=1', { cookie: 'a=b' })).status, 404);

      await web.close();
      web = null;
      await waitFor(async () => (await get(port, '/starphleet/webhook')).status === 503, 'the ship gone: 503 again', 10_000);
      assert.equal((await get(port, '/still')).body, 'app /still');
    });
  });
}
