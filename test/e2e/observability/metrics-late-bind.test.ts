import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { createServer as createHttpServer } from 'node:http';
import { initRepo } from '../../helpers/git.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep } from '../../helpers/wait.js';
import { listenRetrying } from '../../../src/util/listen-retry.js';

/**
 * A listener the ship retries (metrics here) binds once and logs once: with its port taken at start and freed after
 * several retries, a real ship says "Prometheus exposition at" exactly one time and serves /metrics.
 */
const root = tmpDir('sp-mlate-');
let ship: ShipProcess | null = null;
let blocker: Server | null = null;

after(async () => {
  blocker?.close();
  await ship?.stop();
});

const count = (text: string, re: RegExp): number => text.split('\n').filter((l) => re.test(l)).length;

test('metrics on a port freed only after several retries: bound once, logged once', { timeout: 240_000 }, async () => {
  const port = await freePort();
  const b = createServer();
  blocker = b;
  await new Promise<void>((r) => b.listen(port, '127.0.0.1', r));
  initRepo(join(root, 'hq'), { '.starphleet': '' });
  ship = await startShip({ headquarters: join(root, 'hq'), dataDir: join(root, 'data'), env: { STARPHLEET_METRICS_LISTEN: `127.0.0.1:${port}` } });
  await ship.waitForLog(/metrics: cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\): trying again every 5 s/);
  // Three failed retries at 5 s each: before the fix, each left a 'listening' callback behind.
  await sleep(16_000);
  await new Promise<void>((r) => b.close(() => r()));
  blocker = null;
  await ship.waitForLog(/metrics: Prometheus exposition at/, 60_000);
  await sleep(6_000);
  const out = ship.output();
  assert.equal(count(out, /metrics: Prometheus exposition at http:\/\/127\.0\.0\.1:\d+\/metrics/), 1, out.slice(-3000));
  assert.equal(count(out, /metrics: cannot listen/), 1, 'the busy port is said once');
  const r = await fetch(`http://127.0.0.1:${port}/metrics`);
  assert.equal(r.status, 200);
  assert.match(await r.text(), /starphleet_/);
});

test('listenRetrying: N failed binds leave no listener behind; close stops the retries', async () => {
  const port = await freePort();
  const b = createServer();
  await new Promise<void>((r) => b.listen(port, '127.0.0.1', r));
  const server = createHttpServer((_req, res) => res.end('ok'));
  const before = server.listenerCount('listening');
  const lines: string[] = [];
  let bound = 0;
  const warnings: string[] = [];
  const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
  process.on('warning', onWarning);
  const l = listenRetrying(server, { host: '127.0.0.1', port }, { what: 'probe', retryMs: 50, log: (s) => lines.push(s), bound: () => bound++ });
  // Twenty-odd failed attempts: one 'listening' listener each used to give MaxListenersExceededWarning after ten.
  await sleep(1200);
  process.off('warning', onWarning);
  assert.deepEqual(warnings, []);
  assert.equal(l.port(), null);
  assert.equal(server.listenerCount('listening'), before + 1, 'one handler of ours, whatever the number of attempts');
  await new Promise<void>((r) => b.close(() => r()));
  for (let i = 0; i < 40 && l.port() === null; i++) await sleep(50);
  assert.equal(l.port(), port);
  await sleep(200);
  assert.equal(bound, 1);
  assert.deepEqual(lines, [`probe: cannot listen on 127.0.0.1:${port} (EADDRINUSE): trying again every 0.05 s`]);
  await l.close();
  assert.equal(server.listening, false);
});
