import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chmodSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { InstancePool } from '../../../src/dataplane/embedded/instance-pool.js';
import { loopbackUpstream, type Upstream } from '../../../src/dataplane/protocol/upstream.js';
import { RouteTable } from '../../../src/dataplane/embedded/routes.js';
import type { WireRoute } from '../../../src/dataplane/protocol/wire.js';
import { PLANES, startTestPlane } from '../../helpers/planes.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('route table', () => {
  const b = new InstancePool('b', loopbackUpstream(1));
  const t = new RouteTable([
    { mount: '/', service: 'root', backend: b },
    { mount: '/echo', service: 'echo', backend: b },
    { mount: '/a/b', service: 'a.b', backend: null },
    { mount: '/a', service: 'a', backend: b },
  ]);
  after(() => b.destroy());

  test('longest prefix first, whole segments, mount stripped, query kept', () => {
    const m = (target: string): string => {
      const r = t.match(target);
      return r.kind === 'route' ? `${r.route.service} ${r.path}` : r.kind === 'redirect' ? `-> ${r.location}` : 'none';
    };
    assert.equal(m('/echo/Hi?x=1'), 'echo /Hi?x=1');
    assert.equal(m('/echo/'), 'echo /');
    assert.equal(m('/echo'), '-> /echo/');
    assert.equal(m('/echo?x=1'), '-> /echo/?x=1');
    assert.equal(m('/echoes'), 'root /echoes');
    assert.equal(m('/a/b/c'), 'a.b /c');
    assert.equal(m('/a/bc'), 'a /bc');
    assert.equal(m('/'), 'root /');
    assert.equal(m('/other/x'), 'root /other/x');
    assert.equal(new RouteTable([{ mount: '/echo', service: 'echo', backend: b }]).match('/nope').kind, 'none');
  });
});

interface Got {
  status: number;
  body: string;
  headers: Record<string, string | string[] | undefined>;
}

function get(port: number, path: string): Promise<Got> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    })
      .on('error', reject)
      .end();
  });
}

/** A backend server that echoes what it got; /slow waits for `release()` before answering. On TCP, or a unix socket. */
function backendServer(name: string, socketPath?: string): Promise<{ server: Server; port: number; upstream: Upstream; release: () => void; seen: () => number }> {
  const waiting: (() => void)[] = [];
  let count = 0;
  const seen = (): number => count;
  const server = createServer((req, res) => {
    count++;
    const answer = (): void => {
      res.end(JSON.stringify({ name, url: req.url, prefix: req.headers['x-forwarded-prefix'], xff: req.headers['x-forwarded-for'] }));
    };
    if (req.url === '/slow') waiting.push(answer);
    else answer();
  });
  const release = (): void => waiting.splice(0).forEach((w) => w());
  if (socketPath) return new Promise((resolve) => server.listen(socketPath, () => resolve({ server, port: 0, upstream: { kind: 'unix', path: socketPath }, release, seen })));
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as AddressInfo).port;
      resolve({ server, port, upstream: loopbackUpstream(port), release, seen });
    }),
  );
}

function route(mount: string, service: string, id: string | null, upstream?: Upstream): WireRoute {
  return { mount, service, instance: id && upstream ? { id, upstream } : null, hosts: [], auth: null };
}

for (const plane of PLANES) {
  describe(`data plane (${plane})`, () => {
    let dp: Awaited<ReturnType<typeof startTestPlane>>;
    let one: Awaited<ReturnType<typeof backendServer>>;
    let two: Awaited<ReturnType<typeof backendServer>>;
    let unix: Awaited<ReturnType<typeof backendServer>>;
    before(async () => {
      dp = await startTestPlane(plane);
      one = await backendServer('one');
      two = await backendServer('two');
      const sockDir = tmpDir('sp-unix-up-');
      unix = await backendServer('unix', join(sockDir, 'http.sock'));
      // nginx's workers run unprivileged (as root: starphleet-www): a unix upstream must be theirs to reach, as a
      // service's socket never is. This one is opened to them: every folder above searchable, the socket writable.
      if (plane === 'nginx' && process.getuid?.() === 0) {
        chmodSync(join(sockDir, 'http.sock'), 0o666);
        for (let d = sockDir; d !== dirname(d); d = dirname(d)) if ((statSync(d).mode & 0o001) === 0) chmodSync(d, (statSync(d).mode & 0o7777) | 0o001);
      }
    });
    after(async () => {
      await dp.stop();
      one.server.close();
      two.server.close();
      unix.server.close();
    });

    test('proxies to the mount with the prefix stripped; 301, 404, 503, /starphleet/health; /starphleet/status is not public', async () => {
      const port = dp.client.port;
      await dp.client.setTable({ routes: [route('/echo', 'echo', 'one', one.upstream), route('/down', 'down', null)] });
      const r = await get(port, '/echo/Hi?x=1');
      assert.equal(r.status, 200);
      assert.deepEqual(JSON.parse(r.body), { name: 'one', url: '/Hi?x=1', prefix: '/echo', xff: '127.0.0.1' });
      const redirect = await get(port, '/echo?x=1');
      assert.equal(redirect.status, 301);
      assert.equal(redirect.headers.location, '/echo/?x=1');
      assert.equal((await get(port, '/nothing/here')).status, 404);
      const down = await get(port, '/down/x');
      assert.equal(down.status, 503);
      assert.match(down.body, /down has no healthy instance/);
      assert.equal((await get(port, '/starphleet/health')).status, 200);
      assert.equal((await get(port, '/starphleet/status')).status, 404);
      assert.equal((await get(port, '/starphleet/status?x')).status, 404);
    });

    test('an instance behind a unix socket is dialled there', async () => {
      await dp.client.setTable({ routes: [route('/u', 'u', 'unix-1', unix.upstream)] });
      const r = await get(dp.client.port, '/u/path');
      assert.equal(r.status, 200);
      assert.equal(JSON.parse(r.body).name, 'unix');
      assert.equal(JSON.parse(r.body).url, '/path');
    });

    if (plane === 'nginx') {
      test("nginx's unprivileged workers do not reach a socket in a root-only folder (502; the socket saw nothing)", async () => {
        const hidden = await backendServer('hidden', join(tmpDir('sp-unix-root-'), 'http.sock'));
        try {
          await dp.client.setTable({ routes: [route('/h', 'h', 'hidden-1', hidden.upstream)] });
          const r = await get(dp.client.port, '/h/path');
          assert.equal(r.status, 502, r.body);
          assert.equal(hidden.seen(), 0);
        } finally {
          hidden.server.close();
        }
      });
    }

    test('an instance that does not answer is a 502, not a hang', async () => {
      const closed = await backendServer('closed');
      await new Promise<void>((r) => closed.server.close(() => r()));
      await dp.client.setTable({ routes: [route('/', 'root', 'x', closed.upstream)] });
      assert.equal((await get(dp.client.port, '/x')).status, 502);
    });

    test('an instance gone (killed) is not a 502 for a GET while the route has another: it goes to the other', async () => {
      const dead = await backendServer('dead');
      await new Promise<void>((r) => dead.server.close(() => r()));
      const live = { id: 'one', upstream: one.upstream };
      const gone = { id: 'dead', upstream: dead.upstream };
      await dp.client.setTable({ routes: [{ mount: '/', service: 'root', instance: gone, instances: [gone, live], hosts: [], auth: null }] });
      const answers = await Promise.all(Array.from({ length: 20 }, () => get(dp.client.port, '/twin')));
      assert.deepEqual(answers.map((a) => a.status), Array(20).fill(200));
      for (const a of answers) assert.equal(JSON.parse(a.body).name, 'one');
    });

    test('a table swap sends new requests to the new instance while the old one finishes; the drain waits for it', async () => {
      const port = dp.client.port;
      await dp.client.setTable({ routes: [route('/', 'root', 'one', one.upstream)] });
      // Caught at once: the embedded plane cuts it at the drain timeout below.
      const slow = get(port, '/slow').catch(() => null);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal((await dp.client.counts('one')).requests, 1, 'the slow request is counted in flight');
      await dp.client.setTable({ routes: [route('/', 'root', 'two', two.upstream)] });
      assert.equal(JSON.parse((await get(port, '/new')).body).name, 'two');
      const early = await dp.client.drain('one', 300);
      assert.equal(early.drained, false, 'not drained while the slow request runs');
      assert.equal(early.left.requests, 1);
      one.release();
      const s = await slow;
      // The embedded plane cut it at the drain timeout; nginx cannot cut one request (the instance's stop does), so it finished.
      if (plane === 'nginx') assert.equal(s?.status, 200);
      else assert.equal(s, null, 'cut at the drain timeout');
      assert.equal((await dp.client.drain('one', 5000)).drained, true);
    });

    test('a drain waits for an in-flight request and ends once it is answered', async () => {
      const port = dp.client.port;
      await dp.client.setTable({ routes: [route('/', 'root', 'one', one.upstream)] });
      const slow = get(port, '/slow');
      await new Promise((r) => setTimeout(r, 300));
      await dp.client.setTable({ routes: [route('/', 'root', 'two', two.upstream)] });
      const drained = dp.client.drain('one', 20_000);
      await new Promise((r) => setTimeout(r, 300));
      one.release();
      assert.equal((await drained).drained, true);
      const s = await slow;
      assert.equal(s.status, 200);
      assert.equal(JSON.parse(s.body).name, 'one', 'the in-flight request finished on the old instance');
    });
  });
}
