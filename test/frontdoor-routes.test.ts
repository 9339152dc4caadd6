import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Backend } from '../src/frontdoor/backend.js';
import { loopbackUpstream } from '../src/frontdoor/upstream.js';
import { RouteTable } from '../src/frontdoor/routes.js';
import { FrontDoor } from '../src/frontdoor/server.js';
import { silent } from '../src/log.js';

describe('route table', () => {
  const b = new Backend('b', loopbackUpstream(1));
  const t = new RouteTable([
    { mount: '/', service: 'root', backend: b },
    { mount: '/echo', service: 'echo', backend: b },
    { mount: '/a/b', service: 'a.b', backend: null },
    { mount: '/a', service: 'a', backend: b },
  ]);
  after(() => b.close());

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
    request({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    })
      .on('error', reject)
      .end();
  });
}

/** A backend server that echoes what it got; /slow waits for `release()` before answering. */
function backendServer(name: string): Promise<{ server: Server; port: number; release: () => void }> {
  const waiting: (() => void)[] = [];
  const server = createServer((req, res) => {
    const answer = (): void => {
      res.end(JSON.stringify({ name, url: req.url, prefix: req.headers['x-forwarded-prefix'], xff: req.headers['x-forwarded-for'] }));
    };
    if (req.url === '/slow') waiting.push(answer);
    else answer();
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as AddressInfo).port, release: () => waiting.splice(0).forEach((w) => w()) })),
  );
}

describe('front door', () => {
  let fd: FrontDoor;
  let one: Awaited<ReturnType<typeof backendServer>>;
  let two: Awaited<ReturnType<typeof backendServer>>;
  before(async () => {
    fd = await FrontDoor.start({ listen: '127.0.0.1', port: 0, log: silent });
    one = await backendServer('one');
    two = await backendServer('two');
  });
  after(async () => {
    await fd.close();
    one.server.close();
    two.server.close();
  });

  test('proxies to the mount with the prefix stripped; 301, 404, 503 and /starphleet/health', async () => {
    const b1 = new Backend('one', loopbackUpstream(one.port));
    fd.setRoutes(
      new RouteTable([
        { mount: '/echo', service: 'echo', backend: b1 },
        { mount: '/down', service: 'down', backend: null },
      ]),
    );
    const r = await get(fd.port, '/echo/Hi?x=1');
    assert.equal(r.status, 200);
    assert.deepEqual(JSON.parse(r.body), { name: 'one', url: '/Hi?x=1', prefix: '/echo', xff: '127.0.0.1' });
    const redirect = await get(fd.port, '/echo?x=1');
    assert.equal(redirect.status, 301);
    assert.equal(redirect.headers.location, '/echo/?x=1');
    assert.equal((await get(fd.port, '/nothing/here')).status, 404);
    const down = await get(fd.port, '/down/x');
    assert.equal(down.status, 503);
    assert.match(down.body, /down has no healthy instance/);
    assert.equal((await get(fd.port, '/starphleet/health')).status, 200);
    assert.equal(b1.inflight, 0);
  });

  test('an instance that does not answer is a 502, not a hang', async () => {
    const gone = new Backend('gone', loopbackUpstream(two.port + 0));
    const closed = await backendServer('closed');
    const port = closed.port;
    await new Promise<void>((r) => closed.server.close(() => r()));
    fd.setRoutes(new RouteTable([{ mount: '/', service: 'root', backend: new Backend('x', loopbackUpstream(port)) }]));
    assert.equal((await get(fd.port, '/x')).status, 502);
    gone.close();
  });

  test('a table swap sends new requests to the new backend while the old one finishes its in-flight ones', async () => {
    const b1 = new Backend('one', loopbackUpstream(one.port));
    const b2 = new Backend('two', loopbackUpstream(two.port));
    fd.setRoutes(new RouteTable([{ mount: '/', service: 'root', backend: b1 }]));
    const slow = get(fd.port, '/slow');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(b1.inflight, 1, 'the slow request is counted in flight');
    fd.setRoutes(new RouteTable([{ mount: '/', service: 'root', backend: b2 }]));
    assert.equal(JSON.parse((await get(fd.port, '/new')).body).name, 'two');
    assert.equal(await b1.drained(100), false, 'not drained while the slow request runs');
    const drained = b1.drained(5000);
    one.release();
    assert.equal(await drained, true);
    const s = await slow;
    assert.equal(s.status, 200);
    assert.equal(JSON.parse(s.body).name, 'one', 'the in-flight request finished on the old backend');
    assert.equal(b1.inflight, 0);
    assert.equal(b2.inflight, 0);
    b1.close();
    b2.close();
  });
});
