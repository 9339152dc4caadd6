import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { retiringSocket } from '../../../src/dataplane/process/retiring-planes.js';
import { loopbackUpstream } from '../../../src/dataplane/protocol/upstream.js';
import type { WireRoute } from '../../../src/dataplane/protocol/wire.js';
import { send } from '../../helpers/http.js';
import { startTestPlane } from '../../helpers/planes.js';
import { waitFor } from '../../helpers/wait.js';
import { alive } from '../../helpers/instances.js';

/**
 * After a hand-over (an update brought a new data-plane version) the old embedded plane keeps the WebSockets it
 * carries. A drain asked of the new plane counts them too, so the ship never stops an instance under a WebSocket the
 * retiring plane still holds; at the drain timeout the retiring plane ends it.
 */

async function wsBackend(name: string): Promise<{ server: Server; port: number }> {
  const server = createServer((_req, res) => res.end(name));
  const wss = new WebSocketServer({ server });
  wss.on('connection', (ws) => ws.on('message', (m) => ws.send(`${name}:${m.toString()}`)));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { server, port: (server.address() as AddressInfo).port };
}

function route(id: string, port: number): WireRoute {
  return { mount: '/', service: 'app', instance: { id, upstream: loopbackUpstream(port) }, hosts: [], auth: null };
}

describe('a retiring data plane still counts in drains (embedded)', () => {
  let dp: Awaited<ReturnType<typeof startTestPlane>>;
  let one: Awaited<ReturnType<typeof wsBackend>>;
  let two: Awaited<ReturnType<typeof wsBackend>>;
  before(async () => {
    dp = await startTestPlane('embedded');
    one = await wsBackend('one');
    two = await wsBackend('two');
  });
  after(async () => {
    await dp?.stop();
    for (const b of [one, two]) {
      b?.server.closeAllConnections();
      await new Promise((r) => b?.server.close(r));
    }
  });

  test('a WebSocket on the plane that handed over holds the drain of its instance, then is ended by it', async () => {
    await dp.client.setTable({ routes: [route('one', one.port)] });
    const ws = new WebSocket(`ws://127.0.0.1:${dp.client.port}/ws`);
    const inbox: string[] = [];
    ws.on('message', (d: Buffer) => inbox.push(d.toString()));
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    let closed: number | null = null;
    ws.once('close', (code) => (closed = code));
    ws.send('a');
    await waitFor(() => inbox.includes('one:a'), 'the echo through the first plane');

    const oldPid = dp.client.pid;
    await dp.client.upgrade();
    assert.notEqual(dp.client.pid, oldPid, 'a new data plane is in charge');
    assert.ok(existsSync(retiringSocket(dp.dir, oldPid)), 'the retiring plane answers on its own socket');

    // The WebSocket lives on in the retiring plane, and the plane in charge counts it.
    ws.send('b');
    await waitFor(() => inbox.includes('one:b'), 'the echo after the hand-over');
    assert.equal((await dp.client.counts('one')).upgrades, 1);

    await dp.client.setTable({ routes: [route('two', two.port)] });
    assert.equal((await send(dp.client.port, '/')).body, 'two', 'new requests go to the new instance');
    const early = await dp.client.drain('one', 300);
    assert.equal(early.drained, false, 'not drained while the retiring plane carries a WebSocket to it');
    assert.equal(early.left.upgrades, 1);
    await waitFor(() => closed !== null, 'the WebSocket to be ended at the drain timeout', 10_000);
    assert.notEqual(closed, 1006, 'ended with a close frame, not cut');
    assert.equal((await dp.client.drain('one', 1000)).drained, true);

    // With nothing left open the retiring plane exits, and takes its socket with it.
    await waitFor(() => !alive(oldPid), 'the retiring plane to exit', 30_000);
    assert.equal(existsSync(retiringSocket(dp.dir, oldPid)), false);
  });
});
