import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loopbackUpstream } from '../../../src/dataplane/protocol/upstream.js';
import type { WireRoute } from '../../../src/dataplane/protocol/wire.js';
import { PLANES, startTestPlane } from '../../helpers/planes.js';

/**
 * docs/http.md's table, row by row, on both data planes: raw bytes on a socket (clients nobody here wrote send such
 * bytes), the answer's status line, and what the instance received (an echo of its request line and headers).
 */

interface Seen {
  readonly service: string;
  readonly url: string;
  readonly headers: Record<string, string>;
  readonly body: string;
}

async function echo(service: string): Promise<Server> {
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('latin1');
    req.on('data', (d: string) => (body += d));
    req.on('end', () => {
      const headers: Record<string, string> = {};
      for (let i = 0; i < req.rawHeaders.length; i += 2) {
        const k = (req.rawHeaders[i] as string).toLowerCase();
        const v = req.rawHeaders[i + 1] as string;
        headers[k] = headers[k] === undefined ? v : `${headers[k] as string}|${v}`;
      }
      const text = JSON.stringify({ service, url: req.url ?? '', headers, body } satisfies Seen);
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
      res.end(text);
    });
  });
  // An instance answers an upgrade it is offered with 400, as apps using `ws` do for anything but a WebSocket.
  server.on('upgrade', (_req, socket) => socket.end('HTTP/1.1 400 Bad Request\r\ncontent-length: 14\r\nconnection: close\r\n\r\nupgrade seen!\n'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return server;
}

interface Answer {
  readonly status: number;
  readonly head: string;
  readonly body: string;
  readonly seen: Seen | null;
}

/** Sends bytes on a new connection (optionally half-closing after them) and reads one answer, until close or 5 s. */
function ask(port: number, bytes: string, o: { halfClose?: boolean; afterContinue?: string } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
    let got = '';
    let sentRest = false;
    const done = (): void => {
      clearTimeout(timer);
      s.destroy();
      const final = got.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
      const at = final.indexOf('\r\n\r\n');
      const head = at >= 0 ? final.slice(0, at) : final;
      let body = at >= 0 ? final.slice(at + 4) : '';
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(head);
      if (len) body = body.slice(0, Number(len[1]));
      let seen: Seen | null = null;
      try {
        seen = /application\/json/i.test(head) ? (JSON.parse(body) as Seen) : null;
      } catch {
        seen = null;
      }
      resolve({ status: Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0), head, body, seen });
    };
    const timer = setTimeout(done, 5000);
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (o.afterContinue !== undefined && !sentRest && got.startsWith('HTTP/1.1 100 Continue\r\n\r\n')) {
        sentRest = true;
        s.write(o.afterContinue);
      }
      const at = got.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '').indexOf('\r\n\r\n');
      const len = /\r\ncontent-length:\s*(\d+)/i.exec(got);
      if (at >= 0 && len && got.length >= got.indexOf('\r\n\r\n', got.startsWith('HTTP/1.1 100') ? 25 : 0) + 4 + Number(len[1])) done();
    });
    s.on('error', (e) => (got ? done() : reject(e)));
    s.on('end', done);
    s.write(bytes, 'latin1');
    if (o.halfClose) s.end();
  });
}

const H = 'Host: door.test\r\n';

for (const plane of PLANES) {
  describe(`front door conformance (${plane} data plane): docs/http.md`, { timeout: 120_000 }, () => {
    let dp: Awaited<ReturnType<typeof startTestPlane>>;
    const backends: Server[] = [];
    let port = 0;
    const get = async (bytes: string, o?: Parameters<typeof ask>[2]): Promise<Answer> => ask(port, bytes, o);
    before(async () => {
      dp = await startTestPlane(plane);
      port = dp.client.port;
      const routes: WireRoute[] = [];
      for (const [service, mount, hosts] of [
        ['a', '/a', []],
        ['b', '/b', []],
        ['v', '/v', ['vhost.example']],
      ] as const) {
        const s = await echo(service);
        backends.push(s);
        routes.push({ mount, service, instance: { id: service, upstream: loopbackUpstream((s.address() as AddressInfo).port) }, hosts: [...hosts], auth: null });
      }
      await dp.client.setTable({ routes });
    });
    after(async () => {
      await dp?.stop();
      for (const s of backends) {
        s.closeAllConnections();
        await new Promise((r) => s.close(r));
      }
    });

    const routed = (a: Answer, service: string, url: string): void => {
      assert.equal(a.status, 200, a.head + a.body);
      assert.equal(a.seen?.service, service, a.body);
      assert.equal(a.seen?.url, url, a.body);
    };

    test('a plain request reaches its mount with the mount stripped', async () => {
      routed(await get(`GET /a/x HTTP/1.1\r\n${H}\r\n`), 'a', '/x');
    });

    test('dot-segments are resolved before routing: /a/../b/x reaches b as /x', async () => {
      routed(await get(`GET /a/../b/x HTTP/1.1\r\n${H}\r\n`), 'b', '/x');
      routed(await get(`GET /a/./x/./y HTTP/1.1\r\n${H}\r\n`), 'a', '/x/y');
    });

    test('%2E and %2F are decoded before routing: /a/%2e%2e%2Fb/x reaches b', async () => {
      routed(await get(`GET /a/%2e%2e/b/x HTTP/1.1\r\n${H}\r\n`), 'b', '/x');
      routed(await get(`GET /a/%2E%2E%2Fb/x HTTP/1.1\r\n${H}\r\n`), 'b', '/x');
      routed(await get(`GET /a%2Fx HTTP/1.1\r\n${H}\r\n`), 'a', '/x');
    });

    test('the instance gets the normalised path escaped again, and the query as sent', async () => {
      routed(await get(`GET /a/x%20y%3Fz%25w?q=%2F..&r=a%20b HTTP/1.1\r\n${H}\r\n`), 'a', '/x%20y%3Fz%25w?q=%2F..&r=a%20b');
    });

    test('duplicate slashes are merged', async () => {
      routed(await get(`GET //a///x//y HTTP/1.1\r\n${H}\r\n`), 'a', '/x/y');
    });

    test('a path above the root, a bad escape and an encoded NUL are 400', async () => {
      assert.equal((await get(`GET /a/../../x HTTP/1.1\r\n${H}\r\n`)).status, 400);
      assert.equal((await get(`GET /a/%zz HTTP/1.1\r\n${H}\r\n`)).status, 400);
      assert.equal((await get(`GET /a/x%00y HTTP/1.1\r\n${H}\r\n`)).status, 400);
    });

    test('an absolute-form target routes by its own host, which the instance gets as Host', async () => {
      const a = await get(`GET http://vhost.example/x HTTP/1.1\r\nHost: door.test\r\n\r\n`);
      routed(a, 'v', '/x');
      assert.equal(a.seen?.headers.host, 'vhost.example');
      routed(await get(`GET http://door.test/a/x HTTP/1.1\r\nHost: vhost.example\r\n\r\n`), 'a', '/x');
    });

    test('HTTP/1.0 with Host is served; without Host it is routed by mount and the instance gets the address it came to', async () => {
      routed(await get(`GET /a/x HTTP/1.0\r\n${H}\r\n`), 'a', '/x');
      const a = await get('GET /a/x HTTP/1.0\r\n\r\n');
      routed(a, 'a', '/x');
      assert.equal(a.seen?.headers.host, `127.0.0.1:${port}`);
    });

    test('HTTP/1.1 without Host is 400', async () => {
      assert.equal((await get('GET /a/x HTTP/1.1\r\n\r\n')).status, 400);
    });

    test('Expect: 100-continue is answered by the front door; the instance gets the body and no Expect', async () => {
      const a = await get(`POST /a/x HTTP/1.1\r\n${H}Content-Length: 5\r\nExpect: 100-continue\r\n\r\n`, { afterContinue: 'hello' });
      routed(a, 'a', '/x');
      assert.equal(a.seen?.body, 'hello');
      assert.equal(a.seen?.headers.expect, undefined);
    });

    test('a request followed by a half-close is answered', async () => {
      routed(await get(`GET /a/x HTTP/1.1\r\n${H}\r\n`, { halfClose: true }), 'a', '/x');
      const p = await get(`POST /a/y HTTP/1.1\r\n${H}Content-Length: 3\r\n\r\nabc`, { halfClose: true });
      routed(p, 'a', '/y');
      assert.equal(p.seen?.body, 'abc');
    });

    test('hop-by-hop headers are dropped; Connection naming any other header is 400', async () => {
      const a = await get(`GET /a/x HTTP/1.1\r\n${H}Connection: keep-alive, TE\r\nTE: trailers\r\nKeep-Alive: timeout=5\r\nProxy-Connection: keep-alive\r\n\r\n`);
      routed(a, 'a', '/x');
      for (const h of ['te', 'keep-alive', 'proxy-connection']) assert.equal(a.seen?.headers[h], undefined, h);
      assert.doesNotMatch(a.seen?.headers.connection ?? '', /te/i);
      const named = await get(`GET /a/x HTTP/1.1\r\n${H}Connection: close, X-Api-Key\r\nX-Api-Key: k\r\n\r\n`);
      assert.equal(named.status, 400, named.head);
    });

    test('Upgrade: only websocket passes; h2c and others are answered as plain HTTP/1.1 and never reach the app', async () => {
      for (const proto of ['h2c', 'foo/1']) {
        const a = await get(`GET /a/x HTTP/1.1\r\n${H}Connection: Upgrade, HTTP2-Settings\r\nUpgrade: ${proto}\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n`);
        routed(a, 'a', '/x');
        assert.equal(a.seen?.headers.upgrade, undefined, proto);
        assert.equal(a.seen?.headers['http2-settings'], undefined, proto);
        assert.doesNotMatch(a.seen?.headers.connection ?? '', /upgrade/i);
      }
    });

    test('X-Forwarded-*, X-Real-IP and Forwarded come from the real peer, never from the client', async () => {
      const spoof = 'X-Forwarded-For: 6.6.6.6\r\nX-Real-IP: 6.6.6.6\r\nForwarded: for=6.6.6.6;proto=https\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: evil.example\r\nX-Forwarded-Port: 1\r\nX-Forwarded-Prefix: /evil\r\nX-Forwarded-Server: evil\r\nX-Forwarded-Ssl: on\r\n';
      const a = await get(`GET /a/x HTTP/1.1\r\n${H}${spoof}\r\n`);
      routed(a, 'a', '/x');
      const h = a.seen?.headers ?? {};
      assert.equal(h['x-forwarded-for'], '127.0.0.1');
      assert.equal(h['x-real-ip'], '127.0.0.1');
      assert.equal(h.forwarded, 'for=127.0.0.1;proto=http');
      assert.equal(h['x-forwarded-proto'], 'http');
      assert.equal(h['x-forwarded-host'], 'door.test');
      assert.equal(h['x-forwarded-port'], String(port));
      assert.equal(h['x-forwarded-prefix'], '/a');
      assert.equal(h['x-forwarded-server'], undefined);
      assert.equal(h['x-forwarded-ssl'], undefined);
    });

    test('a head over the limit is 431 and the answer names the limit', async () => {
      const a = await get(`GET /a/x HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(24 * 1024)}\r\n\r\n`);
      assert.equal(a.status, 431, a.head);
      assert.match(a.body, /16384 bytes/);
      routed(await get(`GET /a/x HTTP/1.1\r\n${H}X-Big: ${'b'.repeat(8 * 1024)}\r\n\r\n`), 'a', '/x');
    });

    const smuggling: [string, string][] = [
      ['Content-Length with Transfer-Encoding', `POST /a/x HTTP/1.1\r\n${H}Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`],
      ['two different Content-Lengths', `POST /a/x HTTP/1.1\r\n${H}Content-Length: 3\r\nContent-Length: 4\r\n\r\nabcd`],
      ['a Transfer-Encoding that does not end in chunked', `POST /a/x HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`],
      ['an unknown Transfer-Encoding', `POST /a/x HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`],
      ['a space before the colon', `POST /a/x HTTP/1.1\r\n${H}Content-Length : 3\r\n\r\nabc`],
      ['an obs-folded header', `GET /a/x HTTP/1.1\r\n${H}X-A: 1\r\n 2\r\n\r\n`],
      ['a bad chunk size', `POST /a/x HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n`],
      ['a Content-Length that is not a number', `POST /a/x HTTP/1.1\r\n${H}Content-Length: +3\r\n\r\nabc`],
    ];
    for (const [what, bytes] of smuggling) {
      test(`request smuggling shape: ${what} is 400`, async () => {
        const a = await get(bytes);
        assert.equal(a.status, 400, a.head);
      });
    }
  });
}
