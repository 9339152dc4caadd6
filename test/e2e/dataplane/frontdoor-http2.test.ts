import assert from 'node:assert/strict';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect as h2connect } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { nginxHasHttp2On } from '../../../src/dataplane/nginx/nginx-procs.js';
import type { PlaneClient } from '../../../src/dataplane/ship-side/plane-client.js';
import { stopDataPlane } from '../../../src/dataplane/ship-side/plane-process.js';
import { tlsPaths } from '../../../src/data-dir/tls-paths.js';
import { silent } from '../../../src/log.js';
import { writePair } from '../../../src/tls/cert-files.js';
import { curl } from '../../helpers/https-client.js';
import { PLANES } from '../../helpers/planes.js';
import { startDataPlaneUnderTest } from '../../helpers/plane-under-test.js';
import { makeTestCa, type TestCa } from '../../helpers/tls-ca.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * HTTP/2 to clients through both planes, with real clients: curl over TLS (ALPN h2, HTTP/1.1 kept for those that ask
 * for it), curl with prior knowledge in clear, `curl --http2` in clear (its `Upgrade: h2c` is not taken: HTTP/1.1
 * answers); instances keep getting HTTP/1.1; a WebSocket and an event stream still pass.
 */

/** An instance that says which HTTP version reached it, streams events at /events and echoes WebSocket messages. */
async function instance(): Promise<Server> {
  const s = createServer((req, res) => {
    if (req.url === '/events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store' });
      res.write('data: one\n\n');
      const t = setInterval(() => res.write('data: tick\n\n'), 200);
      res.on('close', () => clearInterval(t));
      return;
    }
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end(`instance saw HTTP/${req.httpVersion} ${req.method ?? ''} ${req.url ?? ''} body=${body} proto=${String(req.headers['x-forwarded-proto'])}\n`);
    });
  });
  const wss = new WebSocketServer({ server: s });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`echo:${m.toString()}`)));
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  return s;
}

/** Asks curl for the HTTP version it got and the body. */
async function curlVersion(args: readonly string[]): Promise<{ version: string; body: string; code: number; stderr: string }> {
  const r = await curl(['-sS', '-w', '\n%{http_version}', ...args]);
  const lines = r.stdout.split('\n');
  return { version: lines.pop() ?? '', body: lines.join('\n').trim(), code: r.code, stderr: r.stderr };
}

for (const kind of PLANES) {
  describe(`HTTP/2 to clients on the ${kind} data plane`, { timeout: 120_000 }, () => {
    const dir = tmpDir(`sp-h2-${kind}-`);
    const dataDir = join(dir, 'data');
    let ca: TestCa;
    let plane: PlaneClient;
    let app: Server;
    const name = 'h2.example';
    const tls = (path: string, extra: string[] = []): string[] => ['--cacert', ca.certFile, '--resolve', `${name}:${plane.httpsPort ?? 0}:127.0.0.1`, ...extra, `https://${name}:${plane.httpsPort ?? 0}${path}`];
    const clear = (path: string): string => `http://127.0.0.1:${plane.port}${path}`;

    before(async () => {
      mkdirSync(join(dir, 'ca'));
      ca = makeTestCa(join(dir, 'ca'));
      writePair(tlsPaths.serve(dataDir), name, ca.leaf([name]));
      app = await instance();
      plane = await startDataPlaneUnderTest({ dataDir, kind, listen: '127.0.0.1', port: 0, httpsPort: 0, log: silent, onEvent: () => undefined });
      await plane.setTable({ routes: [{ mount: '/a', service: 'a', instance: { id: 'a1', upstream: { kind: 'tcp', host: '127.0.0.1', port: (app.address() as AddressInfo).port } }, hosts: [], auth: null }] });
    });
    after(async () => {
      plane?.close();
      await stopDataPlane(dataDir);
      app?.closeAllConnections();
      app?.close();
    });

    test('over TLS, curl --http2 gets HTTP/2 by ALPN; the instance gets HTTP/1.1', async () => {
      const r = await curlVersion(tls('/a/x?y=1', ['--http2']));
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.version, '2');
      assert.equal(r.body, 'instance saw HTTP/1.1 GET /x?y=1 body= proto=https');
      const post = await curlVersion(tls('/a/p', ['--http2', '--data-binary', 'hello']));
      assert.equal(post.body, 'instance saw HTTP/1.1 POST /p body=hello proto=https');
    });

    test('over TLS, a client asking for HTTP/1.1 gets HTTP/1.1', async () => {
      const r = await curlVersion(tls('/a/x', ['--http1.1']));
      assert.equal(r.version, '1.1', r.stderr);
      assert.match(r.body, /^instance saw HTTP\/1\.1 GET \/x/);
    });

    test('in clear, curl --http2 (which offers Upgrade: h2c) is answered over HTTP/1.1', async () => {
      const r = await curlVersion(['--http2', clear('/a/x')]);
      assert.equal(r.version, '1.1', r.stderr);
      assert.equal(r.body, 'instance saw HTTP/1.1 GET /x body= proto=http');
    });

    test('in clear, curl --http2-prior-knowledge gets HTTP/2 (nginx: from 1.25.1, which takes `http2 on;`)', async () => {
      const r = await curlVersion(['--http2-prior-knowledge', clear('/a/x')]);
      if (kind === 'nginx' && !nginxHasHttp2On()) {
        // nginx 1.22 cannot serve HTTP/1.1 and h2c on one port: the HTTP port stays HTTP/1.1 (docs/http.md).
        assert.notEqual(r.code, 0, 'prior knowledge is not served by nginx 1.22 on the HTTP port');
        assert.equal((await curlVersion([clear('/a/x')])).version, '1.1');
        return;
      }
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.version, '2');
      assert.equal(r.body, 'instance saw HTTP/1.1 GET /x body= proto=http');
    });

    test('an event stream passes over HTTP/2', async () => {
      const session = h2connect(`https://127.0.0.1:${plane.httpsPort ?? 0}`, { ca: readFileSync(ca.certFile), servername: name });
      try {
        const events: string[] = [];
        const stream = session.request({ ':path': '/a/events' });
        stream.setEncoding('utf8');
        stream.on('data', (d: string) => events.push(...d.split('\n').filter((l) => l.startsWith('data: '))));
        const deadline = Date.now() + 10_000;
        while (events.length < 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual(events.slice(0, 3), ['data: one', 'data: tick', 'data: tick']);
        stream.close();
      } finally {
        session.close();
      }
    });

    test('a WebSocket passes over HTTP/1.1, in clear and over TLS', async () => {
      for (const url of [`ws://127.0.0.1:${plane.port}/a/ws`, `wss://127.0.0.1:${plane.httpsPort ?? 0}/a/ws`]) {
        const ws = new WebSocket(url, { ca: readFileSync(ca.certFile), servername: name } as WebSocket.ClientOptions);
        const got = await new Promise<string>((resolve, reject) => {
          ws.once('open', () => ws.send('hi'));
          ws.once('message', (m: Buffer) => resolve(m.toString()));
          ws.once('error', reject);
        });
        ws.close();
        assert.equal(got, 'echo:hi', url);
      }
    });
  });
}
