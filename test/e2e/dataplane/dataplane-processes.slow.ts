import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { loopbackUpstream } from '../../../src/dataplane/protocol/upstream.js';
import { startTestPlane } from '../../helpers/planes.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * The embedded plane in several processes (STARPHLEET_PLANE_PROCESSES): requests held open on many connections, which
 * the kernel spreads over the processes, are all counted, a drain waits for every one of them, and a helper killed
 * hard is replaced and serves the table in force. Out of `npm test` while the helpers are opt-in (docs/notes.md): it
 * failed once in a loaded batch and passed alone. Run: node --import tsx --test test/e2e/dataplane/dataplane-processes.slow.ts
 */

function helpersOf(pid: number): number[] {
  return readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number)
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid && readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('plane-helper-main');
      } catch {
        return false;
      }
    });
}

describe('the embedded plane in three processes', { timeout: 120_000 }, () => {
  let dp: Awaited<ReturnType<typeof startTestPlane>>;
  let app: Server;
  const waiting: (() => void)[] = [];
  const saved = process.env.STARPHLEET_PLANE_PROCESSES;
  before(async () => {
    app = createServer((req, res) => {
      const answer = (): void => void res.end(`ok ${req.url ?? ''}`);
      if (req.url === '/slow') waiting.push(answer);
      else answer();
    });
    await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
    process.env.STARPHLEET_PLANE_PROCESSES = '3';
    dp = await startTestPlane('embedded');
    await dp.client.setTable({ routes: [{ mount: '/', service: 'app', instance: { id: 'i1', upstream: loopbackUpstream((app.address() as AddressInfo).port) }, hosts: [], auth: null }] });
  });
  after(async () => {
    if (saved === undefined) delete process.env.STARPHLEET_PLANE_PROCESSES;
    else process.env.STARPHLEET_PLANE_PROCESSES = saved;
    waiting.splice(0).forEach((w) => w());
    await dp?.stop();
    app?.closeAllConnections();
    app?.close();
  });

  test('two helpers serve beside the plane process', async () => {
    await waitFor(() => helpersOf(dp.client.pid).length === 2, 'two helper processes');
  });

  test('requests open in every process are counted, and a drain waits for all of them', async () => {
    const n = 24;
    const answers = Array.from({ length: n }, () => new Promise<string>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port: dp.client.port, path: '/slow', agent: false }, (res) => {
        let body = '';
        res.on('data', (d: Buffer) => (body += d.toString()));
        res.on('end', () => resolve(body));
      });
      req.on('error', reject);
      req.end();
    }));
    await waitFor(() => waiting.length === n, `${n} requests at the instance`);
    assert.equal((await dp.client.counts('i1')).requests, n, 'every open request counted, whichever process has it');
    // A drain's timeout would cut what is left: a long one, which must still be waiting while the requests are.
    let settled = false;
    const drained = dp.client.drain('i1', 20_000).finally(() => (settled = true));
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(settled, false, 'the drain waits for requests held by any process');
    waiting.splice(0).forEach((w) => w());
    assert.deepEqual(await Promise.all(answers), Array.from({ length: n }, () => 'ok /slow'));
    const d = await drained;
    assert.equal(d.drained, true);
    assert.deepEqual(d.left, { requests: 0, streams: 0, upgrades: 0 });
    assert.equal((await dp.client.counts('i1')).requests, 0);
  });

  test('a helper killed hard is replaced, and the new one has the table', async () => {
    const [victim] = helpersOf(dp.client.pid);
    assert.ok(victim);
    process.kill(victim, 'SIGKILL');
    await waitFor(() => helpersOf(dp.client.pid).length === 2 && !helpersOf(dp.client.pid).includes(victim), 'a new helper');
    for (let i = 0; i < 30; i++) {
      const status = await new Promise<number>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: dp.client.port, path: `/x${i}`, agent: false }, (res) => {
          res.resume();
          res.on('end', () => resolve(res.statusCode ?? 0));
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 200, `request ${i}`);
    }
  });
});
