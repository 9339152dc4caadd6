import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { send, waitServes } from '../../helpers/http.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli, statusJson } from '../../helpers/phleet.js';
import { PLANES } from '../../helpers/planes.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { percentile, TrafficLoad } from '../../helpers/traffic-load.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/**
 * Maintenance and pauses through a real ship, both planes, under continuous load (kept-alive and fresh clients, an
 * open WebSocket): the admiral's CLI, HQ's orders verb, the status, and a ship killed with SIGKILL during a pause.
 */
interface TrafficRow {
  readonly name: string;
  readonly release: string | null;
  readonly traffic: { maintenance: { source: string; message: string; by: string | null } | null; paused: { by: string; maxPauseS: number } | null } | null;
}

// run-tests: one process per data plane (every test of this file is in this loop).
for (const plane of PLANES) {
  describe(`maintenance and pause through a ship (${plane} data plane)`, { timeout: 900_000 }, () => {
    const root = tmpDir(`sp-trh-${plane}-`);
    const dataDir = join(root, 'data');
    const app = join(root, 'app');
    const hq = join(root, 'hq');
    let ship: ShipProcess;
    const row = async (): Promise<TrafficRow> => (await statusJson<{ services: TrafficRow[] }>(dataDir)).services.find((s) => s.name === 'app') as TrafficRow;
    // The nginx plane's workers cannot reach a sandboxed instance's unix socket on this tree (its folder is the
    // sandbox user's): its instances run as processes on loopback here, which changes nothing of what is tested.
    const env = plane === 'nginx' ? { STARPHLEET_RUNTIME: 'process' } : undefined;
    const start = (): Promise<ShipProcess> => startShip({ headquarters: hq, dataDir, pulse: 0.5, args: ['--data-plane', plane], ...(env ? { env } : {}), ...(ship ? { httpPort: ship.httpPort } : {}) });

    before(async () => {
      fixtureRepo('stream-app', app);
      commit(app, { '.env': 'GREETING=v0\n' });
      initRepo(hq, { 'app/orders': `autodeploy ${app}\n` });
      ship = await start();
      await waitFor(async () => /"greeting":"v0"/.test((await send(ship.httpPort, '/app/')).body), () => `v0 to serve\n${ship.output().slice(-3000)}`, 400_000, 250);
      // The status row names the release a moment after the plane routes to it (seen once on a loaded machine): the
      // tests below compare against it.
      await waitFor(async () => (await row()).release !== null, 'the status to name the release v0 serves', 60_000);
    });

    after(async () => {
      await ship?.stop();
      await killRecordedInstances(dataDir);
    });

    test('maintenance on and off under load: 503 with Retry-After and the page, allowed paths pass, the status and the audit say who', async () => {
      const page = join(root, 'page.html');
      writeFileSync(page, '<!doctype html><h1>Back soon</h1>\n');
      const load = new TrafficLoad(ship.httpPort, '/app/');
      await load.openWebSocket('/app/ws');
      const release = (await row()).release;
      try {
        await sleep(500);
        const on = await cli(dataDir, 'maintenance', 'app', 'on', '--message', 'Back at noon', '--page', page, '--allow', '/health', '--retry-after', '120');
        assert.equal(on.code, 0, on.stderr);
        const text = await send(ship.httpPort, '/app/x');
        assert.equal(text.status, 503);
        assert.equal(text.headers['retry-after'], '120');
        assert.equal(text.body, '503 Back at noon\n');
        const html = await send(ship.httpPort, '/app/x', { headers: { accept: 'text/html' } });
        assert.equal(html.status, 503);
        assert.equal(html.body, '<!doctype html><h1>Back soon</h1>\n');
        assert.equal((await send(ship.httpPort, '/app/health')).status, 200);
        const r = await row();
        assert.equal(r.traffic?.maintenance?.source, 'admiral');
        assert.equal(r.traffic?.maintenance?.message, 'Back at noon');
        assert.match((await cli(dataDir, 'status')).stdout, /app: under maintenance \(by local cli\): Back at noon/);
        await sleep(1000);
        const off = await cli(dataDir, 'maintenance', 'app', 'off');
        assert.equal(off.code, 0, off.stderr);
        assert.equal((await send(ship.httpPort, '/app/x')).status, 200);
      } finally {
        await load.stop();
      }
      // While on, the load got the maintenance answer; nothing else failed, and the WebSocket stayed open.
      const bad = load.failures((s) => s.status === 503 && s.body.startsWith('503 Back at noon'));
      assert.deepEqual(bad, [], `${bad.length} of ${load.samples.length} failed`);
      assert.ok(load.samples.some((s) => s.status === 503), 'the load saw the maintenance');
      assert.ok(load.wsOpen, 'the WebSocket stayed open');
      assert.equal((await row()).release, release, 'nothing was deployed');
      const audit = await cli(dataDir, 'audit');
      assert.match(audit.stdout, /starphleet maintenance app on --message Back at noon --page-html \(\d+ bytes\) --allow \/health --retry-after 120/);
    });

    test("HQ's `maintenance` verb: every request gets its message, an admiral's off cannot lift it, and it deploys nothing", async () => {
      const release = (await row()).release;
      commit(hq, { 'app/orders': `autodeploy ${app}\nmaintenance --allow /health Moving to a new database\n` });
      await waitFor(async () => (await send(ship.httpPort, '/app/')).status === 503, 'HQ maintenance', 60_000);
      const r = await send(ship.httpPort, '/app/');
      assert.equal(r.body, '503 Moving to a new database\n');
      assert.equal(r.headers['retry-after'], '60');
      assert.equal((await send(ship.httpPort, '/app/health')).status, 200);
      assert.equal((await row()).traffic?.maintenance?.source, 'hq');
      const off = await cli(dataDir, 'maintenance', 'app', 'off');
      assert.match(off.stdout, /HQ's orders keep the service under maintenance/);
      assert.equal((await send(ship.httpPort, '/app/')).status, 503);
      commit(hq, { 'app/orders': `autodeploy ${app}\n` });
      // Five answers in a row: nginx's old workers may take a connection or two before they see the reload.
      await waitServes(ship.httpPort, '/app/', 'HQ maintenance off', 60_000);
      assert.equal((await row()).release, release, 'turning maintenance on and off from HQ deployed nothing');
      assert.equal((await row()).traffic, null);
    });

    test('pause for 5 s then resume under load: nothing fails, held requests are answered after the resume, in order', async () => {
      const load = new TrafficLoad(ship.httpPort, '/app/');
      await load.openWebSocket('/app/ws');
      const seq: { i: number; sentAt: number; doneAt: number; status: number }[] = [];
      let resumedAt = 0;
      let asked = 0;
      try {
        await sleep(500);
        asked = Date.now();
        const p = await cli(dataDir, 'pause', 'app');
        assert.equal(p.code, 0, p.stderr);
        // The command returns once the requests in flight are done (nginx cannot tell the open WebSocket from one:
        // it waits STARPHLEET_PAUSE_DRAIN); the 5 s count from then.
        const pausedAt = Date.now();
        assert.match(p.stdout, /app: paused/);
        assert.ok((await row()).traffic?.paused, 'the status shows the pause');
        // Numbered requests on connections of their own, 100 ms apart, during the pause.
        const held: Promise<void>[] = [];
        for (let i = 0; i < 30; i++) {
          const sentAt = Date.now();
          held.push(send(ship.httpPort, `/app/seq/${i}`).then((r) => void seq.push({ i, sentAt, doneAt: Date.now(), status: r.status })));
          await sleep(100);
        }
        await sleep(Math.max(0, 5000 - (Date.now() - pausedAt)));
        resumedAt = Date.now();
        const r = await cli(dataDir, 'resume', 'app');
        assert.equal(r.code, 0, r.stderr);
        await Promise.all(held);
        await sleep(500);
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures(), [], 'no request failed');
      assert.ok(load.wsOpen, 'the WebSocket stayed open through the pause');
      assert.deepEqual(seq.map((s) => s.status), seq.map(() => 200));
      assert.ok(seq.every((s) => s.doneAt >= resumedAt), 'held until the resume');
      // Answered in the order they came: on the embedded plane, which holds them itself. nginx hands held requests to
      // the holding socket from each of its workers on their own connections, and a fresh-clone CI run saw three of
      // them released first (14, 15, 16, then 0..13): the order across nginx workers is not one queue (docs/notes.md).
      if (plane === 'embedded') assert.deepEqual([...seq].sort((a, b) => a.doneAt - b.doneAt || a.i - b.i).map((s) => s.i), seq.map((s) => s.i).sort((a, b) => a - b));
      const waits = load.samples.filter((s) => s.sentAt >= asked && s.sentAt < resumedAt).map((s) => s.doneAt - s.sentAt);
      console.log(`# ${plane}: ${load.samples.length} requests, ${load.retried} retried after a reload; ${waits.length} of the load's were held, up to ${percentile(waits, 100)} ms`);
      assert.ok(percentile(waits, 100) >= 4000, 'the load was held through the pause');
      assert.equal((await row()).traffic, null);
    });

    test('a pause longer than --max-pause answers 503 to what it held; the service stays paused until resume', async () => {
      const p = await cli(dataDir, 'pause', 'app', '--max-pause', '2s');
      assert.equal(p.code, 0, p.stderr);
      const t0 = Date.now();
      const answers = await Promise.all([0, 1, 2].map(() => send(ship.httpPort, '/app/late').then((r) => ({ ...r, ms: Date.now() - t0 }))));
      for (const a of answers) {
        assert.equal(a.status, 503);
        assert.match(a.body, /paused: held 2 s/);
        assert.ok(a.ms >= 1900, `answered after ${a.ms} ms`);
        assert.equal(a.headers['retry-after'], '5');
      }
      assert.ok((await row()).traffic?.paused);
      assert.equal((await cli(dataDir, 'resume', 'app')).code, 0);
      assert.equal((await send(ship.httpPort, '/app/x')).status, 200);
    });

    test('a ship killed with SIGKILL during a pause: the pause holds on, its held requests are answered after the restart', async () => {
      assert.equal((await cli(dataDir, 'pause', 'app', '--max-pause', '120s')).code, 0);
      const held = [0, 1, 2, 3].map((i) => send(ship.httpPort, `/app/kill/${i}`).then((r) => ({ status: r.status, doneAt: Date.now(), greeting: /"greeting":"([^"]*)"/.exec(r.body)?.[1] })));
      await sleep(500);
      await ship.kill();
      const restartedAt = Date.now();
      ship = await start();
      await ship.waitForLog(/adopted instance/);
      // The restarted ship sends its table: still paused (the db kept it); the held requests are still held.
      await sleep(3000);
      assert.ok((await row()).traffic?.paused, 'the restarted ship shows the pause');
      const during = await Promise.race([Promise.all(held).then(() => 'answered'), sleep(100).then(() => 'held')]);
      assert.equal(during, 'held');
      const resumedAt = Date.now();
      assert.equal((await cli(dataDir, 'resume', 'app')).code, 0);
      const got = await Promise.all(held);
      for (const g of got) {
        assert.equal(g.status, 200);
        assert.equal(g.greeting, 'v0');
        assert.ok(g.doneAt >= resumedAt && g.doneAt > restartedAt);
      }
    });
  });
}
