import assert from 'node:assert/strict';
import { Agent } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { getText, isReusedConnectionClosed, send } from '../../helpers/http.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PLANES } from '../../helpers/planes.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/**
 * Ten deploys of a service through a real ship under a steady load (300 requests/s asked; the rate reached is printed): not one request fails,
 * and a WebSocket open on the first instance stays open through the switch and is closed only at the drain timeout.
 */
// run-tests: one process per data plane (every test of this file is in this loop).
for (const plane of PLANES) {
  describe(`deploys under load (${plane} data plane)`, { timeout: 900_000 }, () => {
  const root = tmpDir(`sp-fdd-${plane}-`);
  const dataDir = join(root, 'data');
  const app = join(root, 'app');
  const DRAIN_S = 3;
  let ship: ShipProcess;

  before(async () => {
    fixtureRepo('stream-app', app);
    commit(app, { '.env': 'GREETING=v0\n' });
    initRepo(join(root, 'hq'), { 'app/orders': `autodeploy ${app}\n` });
    ship = await startShip({ headquarters: join(root, 'hq'), dataDir, pulse: 0.5, args: ['--data-plane', plane], env: { STARPHLEET_DRAIN_TIMEOUT: String(DRAIN_S) } });
    await waitFor(async () => /"greeting":"v0"/.test((await send(ship.httpPort, '/app/')).body), () => `v0 to serve\n${ship.output().slice(-3000)}`, 400_000, 250);
  });

  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  /** A bounded load generator: `workers` kept-alive connections, each pacing itself to rate/workers requests a second. */
  class Load {
    requests = 0;
    retried = 0;
    failures: string[] = [];
    last = '';
    private running = true;
    private readonly started = Date.now();
    private stoppedAt = 0;
    private readonly agent = new Agent({ keepAlive: true, maxSockets: 16 });
    private readonly loops: Promise<void>[];

    constructor(port: number, rate: number, workers = 16) {
      const every = (1000 * workers) / rate;
      this.loops = Array.from({ length: workers }, async () => {
        let next = Date.now();
        while (this.running) {
          let r = await getText(port, '/app/', this.agent);
          // nginx's graceful reload closes idle kept-alive client connections at once; a GET sent on one just then
          // (the server closed it before answering a byte) is retried once on a new connection, as browsers do (RFC
          // 9112 9.3.1): not on the pool, whose other idle connections that reload is closing too.
          if (isReusedConnectionClosed(r)) {
            this.retried++;
            r = await getText(port, '/app/', false);
          }
          this.requests++;
          if (r instanceof Error) this.failures.push(r.message);
          else if (r.status !== 200) this.failures.push(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
          else this.last = /"greeting":"([^"]*)"/.exec(r.body)?.[1] ?? '';
          next += every;
          const wait = next - Date.now();
          if (wait > 0) await sleep(wait);
          else next = Date.now();
        }
      });
    }

    get rate(): number {
      return this.requests / (((this.stoppedAt || Date.now()) - this.started) / 1000);
    }

    async stop(): Promise<void> {
      this.running = false;
      await Promise.all(this.loops);
      this.stoppedAt = Date.now();
      this.agent.destroy();
    }
  }

  test(`10 deploys under a steady load (${plane} data plane): zero failed requests; an open WebSocket is closed only after the drain`, async (t) => {
    const ws = new WebSocket(`ws://127.0.0.1:${ship.httpPort}/app/ws`);
    const inbox: string[] = [];
    ws.on('message', (d: Buffer) => inbox.push(d.toString()));
    await new Promise<void>((ok, fail) => {
      ws.once('open', () => ok());
      ws.once('error', fail);
    });
    let closedAt: number | null = null;
    ws.once('close', () => (closedAt = Date.now()));
    ws.send('whoami');
    await waitFor(() => inbox.length === 1, 'whoami');
    assert.match(inbox[0] ?? '', /^greeting=v0 /);

    const load = new Load(ship.httpPort, 300);
    let switchedAt = 0;
    try {
      for (let i = 1; i <= 10; i++) {
        commit(app, { '.env': `GREETING=v${i}\n` });
        await waitFor(() => load.last === `v${i}`, `v${i} to serve`, 120_000, 50);
        if (i === 1) {
          switchedAt = Date.now();
          // v1 serves every new request now, and the WebSocket still talks to the v0 instance, which is draining.
          ws.send('whoami');
          await waitFor(() => inbox.length === 2, 'whoami after the switch', 5_000, 20);
          assert.match(inbox[1] ?? '', /^greeting=v0 /);
          assert.equal(closedAt, null, 'the WebSocket is open after the switch');
        }
      }
    } finally {
      await load.stop();
    }
    t.diagnostic(`${load.requests} requests at ${load.rate.toFixed(0)}/s; ${load.retried} retried after a reload closed an idle connection`);
    assert.deepEqual(load.failures, [], `${load.failures.length} of ${load.requests} requests failed`);
    await waitFor(() => closedAt !== null, 'the WebSocket to be closed', 30_000);
    // The ship logs the drain timeout once the data plane has closed what was left.
    // (nginx counts its workers' connections to the instance, the WebSocket's among them, as requests.)
    const what = plane === 'nginx' ? '\\d+ requests?' : '1 upgraded connection \\(WebSocket\\)';
    await ship.waitForLog(new RegExp(`app: instance \\S+: ${what} still open after the ${DRAIN_S} s drain timeout, closed`));
    // Not before the drain timeout: the drain began at the switch, which v1's first answer follows within ms (the
    // 250 ms are that, and the two timers' granularity; a lower bound, never a timed upper one).
    assert.ok((closedAt ?? 0) >= switchedAt + DRAIN_S * 1000 - 250, `closed ${(closedAt ?? 0) - switchedAt} ms after the switch, not before the ${DRAIN_S} s drain`);
  });
  });
}
