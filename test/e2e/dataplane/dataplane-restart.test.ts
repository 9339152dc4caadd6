import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readPlaneRecord } from '../../../src/dataplane/ship-side/plane-record.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { send, waitServes } from '../../helpers/http.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { continuousLoad } from '../../helpers/load.js';
import { PLANES } from '../../helpers/planes.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/** The data plane outlives the ship: kill -9 of the ship under load drops nothing, and the next ship adopts the plane. */
for (const plane of PLANES) {
  describe(`kill -9 of the ship under load (${plane} data plane)`, { timeout: 600_000 }, () => {
    const root = tmpDir('sp-dp-restart-');
    const dataDir = join(root, 'data');
    const hq = join(root, 'hq');
    const app = join(root, 'app');
    let ship: ShipProcess | null = null;
    const args = ['--data-plane', plane];

    after(async () => {
      await ship?.stop();
      await killRecordedInstances(dataDir);
    });

    test('0 failed requests, the WebSocket stays open, the restarted ship adopts the running data plane', async (t) => {
      fixtureRepo('stream-app', app);
      initRepo(hq, { 'app/orders': `autodeploy ${app}\n` });
      ship = await startShip({ headquarters: hq, dataDir, args });
      const port = ship.httpPort;
      await waitServes(port, '/app/', () => `app to serve\n${ship?.output().slice(-3000)}`, 180_000);
      const before = readPlaneRecord(dataDir);
      assert.equal(before?.kind, plane);

      const load = await continuousLoad(port, '/app/', '/app/ws');
      // Stopped whatever happens: a load left running keeps this file's process alive for ever.
      let seen: Awaited<ReturnType<typeof load.stop>>;
      try {
        await sleep(1000);
        await ship.kill();
        // Nothing of the ship runs now: HTTP is the data plane's alone.
        await sleep(1500);
        ship = await startShip({ headquarters: hq, dataDir, args, sshPort: ship.sshPort, httpPort: port });
        await ship.waitForLog(/data plane: adopted pid (\d+)/, 60_000);
        await ship.waitForLog(/app: adopted /, 60_000);
        await sleep(2000);
      } finally {
        seen = await load.stop();
      }
      t.diagnostic(`${seen.ok} requests, ${seen.wsEchoes} WebSocket echoes across the kill -9 and restart`);
      assert.deepEqual(seen.failures, [], `${seen.ok} requests ok`);
      assert.ok(seen.ok > 50, `only ${seen.ok} requests went through`);
      assert.ok(seen.wsOpen, 'the WebSocket stayed open');
      assert.ok(seen.wsEchoes > 20, `only ${seen.wsEchoes} echoes`);
      const after = readPlaneRecord(dataDir);
      assert.equal(after?.pid, before?.pid, 'the same data plane process serves');
      assert.match(ship.output(), new RegExp(`data plane: adopted pid ${before?.pid ?? 0} \\(${plane}`));
      // The adopted plane follows the new ship's tables: a route change still reaches it.
      assert.equal((await send(port, '/app/')).status, 200);
      assert.equal((await send(port, '/starphleet/status')).status, 404);
    });

    test('a data plane that dies is started again by the ship, with the table in force', async () => {
      assert.ok(ship);
      const port = ship.httpPort;
      const dead = readPlaneRecord(dataDir)?.pid ?? 0;
      assert.ok(dead > 0);
      process.kill(dead, 'SIGKILL');
      const next = await waitFor(async () => {
        const rec = readPlaneRecord(dataDir);
        return rec && rec.pid !== dead && (await send(port, '/app/')).status === 200 ? rec : null;
      }, () => `a new data plane serving /app/\n${ship?.output().slice(-2000)}`, 90_000, 250);
      assert.equal(next.kind, plane);
      assert.match(ship.output(), /data plane: the running one is gone: starting it again/);
    });
  });
}
