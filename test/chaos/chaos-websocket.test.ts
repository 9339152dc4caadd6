import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import type { PlaneClient } from '../../src/dataplane/ship-side/plane-client.js';
import { stopDataPlane } from '../../src/dataplane/ship-side/plane-process.js';
import type { WireTable } from '../../src/dataplane/protocol/wire.js';
import { tmpDir } from '../helpers/tmp.js';
import { waitFor } from '../helpers/wait.js';
import { startDataPlaneUnderTest } from '../helpers/plane-under-test.js';

/**
 * WebSockets to an instance being replaced (#17), on the embedded data plane: each stays open until its instance
 * closes it or the drain timeout passes; then the plane ends it with a close frame 1001 between two frames (never a
 * reset, never a cut frame), also while the instance streams big messages; an instance that dies gives 1001 too.
 */
const dataDir = tmpDir('sp-chaos-ws-');
let plane: PlaneClient;
const servers: Server[] = [];
after(async () => {
  plane?.close();
  await stopDataPlane(dataDir);
  for (const s of servers) s.closeAllConnections();
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
});

interface Instance {
  readonly port: number;
  readonly wss: WebSocketServer;
}

/** An echo instance; `stream` makes it push 256 KiB messages every 10 ms to each client, so frames are in flight. */
async function instance(stream: boolean): Promise<Instance> {
  const server = createServer((_q, r) => r.end('ok'));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => {
    ws.on('message', (m) => ws.send(m));
    if (stream) {
      const big = Buffer.alloc(256 * 1024, 7);
      const t = setInterval(() => ws.readyState === WebSocket.OPEN && ws.bufferedAmount < 4 * 1024 * 1024 && ws.send(big), 10);
      ws.on('close', () => clearInterval(t));
    }
  });
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  return { port: typeof a === 'object' && a ? a.port : 0, wss };
}

function table(id: string, port: number): WireTable {
  return { routes: [{ mount: '/app', service: 'app', instance: { id, upstream: { kind: 'tcp', host: '127.0.0.1', port } }, hosts: [], auth: null }] };
}

interface Client {
  readonly ws: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;
  readonly errors: string[];
  bytes: number;
}

async function connect(): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${plane.port}/app/ws`);
  const errors: string[] = [];
  const c: Client = { ws, errors, bytes: 0, closed: new Promise((r) => ws.once('close', (code, reason) => r({ code, reason: reason.toString() }))) };
  ws.on('error', (e) => errors.push(e.message));
  ws.on('message', (m: Buffer) => (c.bytes += m.length));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return c;
}

describe('WebSockets at a switch (embedded data plane)', { timeout: 180_000 }, () => {
  test('open until the instance closes it or the drain timeout passes, then a 1001 close frame between frames', async () => {
    plane = await startDataPlaneUnderTest({ dataDir, kind: 'embedded', listen: '127.0.0.1', port: 0, log: () => {}, onEvent: () => {} });
    const a = await instance(true);
    const b = await instance(false);
    await plane.setTable(table('a', a.port));
    const streaming = await connect();
    const closedByApp = await connect();
    await waitFor(() => streaming.bytes > 1024 * 1024, 'big messages to stream');
    // The switch: new connections go to b; what is open to a drains.
    await plane.setTable(table('b', b.port));
    const drain = plane.drain('a', 4000);
    // The instance closes one of its WebSockets itself, with its own code: that passes through as it is.
    for (const ws of a.wss.clients) if (ws !== [...a.wss.clients][0]) ws.close(4000, 'done by the app');
    const byApp = await closedByApp.closed;
    assert.deepEqual(byApp, { code: 4000, reason: 'done by the app' });
    assert.equal(streaming.ws.readyState, WebSocket.OPEN, 'the other one stays open until the drain timeout');
    const d = await drain;
    assert.equal(d.drained, false);
    assert.equal(d.left.upgrades, 1);
    const end = await streaming.closed;
    assert.equal(end.code, 1001, `the data plane's close frame, got ${JSON.stringify(end)}`);
    assert.equal(end.reason, 'the instance is being replaced');
    assert.deepEqual(streaming.errors, [], 'no cut frame, no reset');
    assert.ok(streaming.bytes > 1024 * 1024);
    // A new WebSocket reaches the new instance.
    const fresh = await connect();
    const echoed = new Promise<string>((r) => fresh.ws.once('message', (m: Buffer) => r(m.toString())));
    fresh.ws.send('hello b');
    assert.equal(await echoed, 'hello b');
    // The instance dies (its sockets reset): the client still gets a close frame, 1001.
    for (const ws of b.wss.clients) ws.terminate();
    const gone = await fresh.closed;
    assert.equal(gone.code, 1001, JSON.stringify(gone));
    assert.equal(gone.reason, 'the instance went away');
    assert.deepEqual(fresh.errors, []);
  });
});
