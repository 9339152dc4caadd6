import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { readPlaneRecord } from '../../../src/dataplane/ship-side/plane-record.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { send, waitServes } from '../../helpers/http.js';
import { killRecordedInstances, alive } from '../../helpers/instances.js';
import { makeKey } from '../../helpers/keys.js';
import { continuousLoad } from '../../helpers/load.js';
import { PLANES } from '../../helpers/planes.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { updateRemote } from '../../helpers/update-remote.js';

/**
 * `ssh update@ship` twice in a row under continuous load (keep-alive and fresh-connection clients, a WebSocket), with
 * each data plane: HTTP is never handed over between ships; each update brings a new data-plane version, which takes
 * over from the running one. Setup as in update-e2e.test.ts (a bare remote made from a copy of this tree).
 */

// run-tests: one process per data plane (every test of this file is in this loop).
for (const plane of PLANES) {
  describe(`two updates in a row under load (${plane} data plane)`, { timeout: 1_800_000 }, () => {
    const root = tmpDir(`sp-dp-update-${plane}-`);
    const dataDir = join(root, 'data');
    const proj = join(root, 'proj');
    const remote = join(root, 'remote.git');
    let ship: ShipProcess | null = null;

    after(async () => {
      const pidFile = join(dataDir, 'ship.pid');
      const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, 'utf8').trim()) : 0;
      if (pid && pid !== ship?.child.pid && alive(pid)) {
        process.kill(pid, 'SIGTERM');
        await waitFor(() => !alive(pid), 'the last ship to stop', 30_000).catch(() => process.kill(pid, 'SIGKILL'));
      }
      await ship?.stop();
      await killRecordedInstances(dataDir);
    });

    test('0 failed requests, the WebSocket stays open, each update hands the data plane over to its version', async (t) => {
      const key = makeKey(root, 'admiral');
      const app = join(root, 'app');
      const hq = join(root, 'hq');
      fixtureRepo('stream-app', app);
      initRepo(hq, { 'authorized_keys/admiral': `${key.pub}\n`, 'app/orders': `autodeploy ${app}\n` });
      updateRemote(root, { push: false });
      ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, args: ['--data-plane', plane], env: { STARPHLEET_REMOTE: `${remote}#master`, STARPHLEET_HANDOVER_GRACE: '10', STARPHLEET_RUNTIME: 'process' } });
      const port = ship.httpPort;
      await waitServes(port, '/app/', () => `app to serve\n${ship?.output().slice(-3000)}`, 300_000);
      const load = await continuousLoad(port, '/app/', '/app/ws');
      const planes: number[] = [readPlaneRecord(dataDir)?.pid ?? 0];
      try {
        for (const version of ['0.1.1', '0.1.2']) {
          const pkg = JSON.parse(readFileSync(join(proj, 'package.json'), 'utf8')) as { version: string };
          pkg.version = version;
          commit(proj, { 'package.json': `${JSON.stringify(pkg, null, 2)}\n` }, `version ${version}`);
          gitIn(proj, 'push', '-q', remote, 'HEAD:master');
          const r = await runSsh({ key: key.privatePath, port: ship.sshPort, user: 'update', args: [], options: ['-T'], timeoutMs: 900_000 });
          assert.equal(r.code, 0, `${r.stdout.toString()}${r.stderr}`);
          assert.match(r.stdout.toString(), new RegExp(`-> ${version.replace(/\./g, '\\.')} @`));
          const rec = await waitFor(() => {
            const p = readPlaneRecord(dataDir);
            return p?.version === version ? p : null;
          }, `the data plane of ${version}`, 60_000);
          planes.push(rec.pid);
          assert.equal(rec.kind, plane);
        }
        await sleep(2000);
      } finally {
        const seen = await load.stop();
        t.diagnostic(`${seen.ok} requests, ${seen.wsEchoes} WebSocket echoes through two updates; data plane pids ${planes.join(' -> ')}`);
        assert.deepEqual(seen.failures, [], `${seen.ok} requests ok`);
        assert.ok(seen.wsOpen, 'the WebSocket stayed open');
      }
      assert.equal(new Set(planes).size, 3, 'each update brought its own data plane process');
      assert.equal((await send(port, '/app/')).status, 200);
    });
  });
}
