import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { answerLimitMs, askPlane } from '../../../src/dataplane/ship-side/control-call.js';
import { tmpDir } from '../../helpers/tmp.js';

/** A control socket that does with each connection what `serve` says (a real unix socket, as the plane's). */
async function fakePlane(path: string, serve: (s: Socket) => void): Promise<Server> {
  const server = createServer(serve);
  await new Promise<void>((r) => server.listen(path, r));
  return server;
}

describe('the ship asking its data plane', () => {
  const dir = tmpDir('sp-control-call-');
  const servers: Server[] = [];
  after(() => {
    for (const s of servers) s.close();
  });

  test('a plane that takes the request and never answers fails the call after its limit, naming the request', async () => {
    const open: Socket[] = [];
    const path = join(dir, 'wedged.sock');
    servers.push(await fakePlane(path, (s) => open.push(s)));
    const t0 = Date.now();
    await assert.rejects(askPlane(path, { op: 'set-table', table: {} }, 300), (e: Error & { code?: string }) => {
      assert.match(e.message, /did not answer set-table within 300 ms/);
      assert.equal(e.code, 'ETIMEDOUT');
      return true;
    });
    assert.ok(Date.now() - t0 >= 290, 'not before the limit');
    for (const s of open) s.destroy();
  });

  test('an answer within the limit is the result; a refusal is an error with the plane\'s words', async () => {
    const path = join(dir, 'answers.sock');
    servers.push(
      await fakePlane(path, (s) => {
        s.once('data', (d) => {
          const op = (JSON.parse(String(d)) as { op: string }).op;
          s.end(op === 'hello' ? '{"ok":true}\n' : '{"ok":false,"error":"no such instance"}\n');
        });
      }),
    );
    assert.equal((await askPlane(path, { op: 'hello' }, 5_000)).ok, true);
    await assert.rejects(askPlane(path, { op: 'counts', instance: 'x' }, 5_000), /data plane: no such instance/);
  });

  test('limits: a drain waits out its own time limit and a minute more, a hand-over three minutes, the rest a minute', () => {
    assert.equal(answerLimitMs({ op: 'drain', instance: 'x', timeoutMs: 30_000 }), 90_000);
    assert.equal(answerLimitMs({ op: 'upgrade' }), 180_000);
    assert.equal(answerLimitMs({ op: 'set-table', table: {} }), 60_000);
  });
});
