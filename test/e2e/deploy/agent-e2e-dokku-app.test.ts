import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { httpGet, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * Dokku's flagship sample shape (#31): an app.json with comments whose deploy scripts touch /app, deployed unchanged.
 * Needs Heroku's runtime layout (the release at /app, its working directory and HOME) in the build and instance
 * sandboxes.
 */
const root = tmpDir('sp-e2e-dokku-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
let ship: ShipProcess;

before(async () => {
  fixtureRepo('dokku-node', join(root, 'app'));
  initRepo(hq, { 'dokku/orders': `autodeploy ${join(root, 'app')}\n` });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RETRY_BASE: '600' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

test('a commented app.json with /app predeploy and postdeploy scripts deploys as on Dokku', async () => {
  const body = await waitFor(
    async () => {
      const failed = (await statusServices(dataDir)).find((r) => r.name === 'dokku' && r.state === 'failed');
      if (failed) throw new Error(`the deploy failed: ${failed.message}`);
      const r = await httpGet(ship.httpPort, '/dokku/');
      return r.status === 200 && /dokku-node fixture/.test(r.body) ? r.body : null;
    },
    'the Dokku-shaped app serving',
    240_000,
    500,
  );
  assert.match(body, /cwd=\/app\n/);
  assert.match(body, /HOME=\/app\n/);
  assert.match(body, /predeploy\.test: present/, 'what predeploy wrote is in the release');
  // The status row can name its release a moment after the instance answers (written after the switch).
  const release = await waitFor(async () => (await statusServices(dataDir)).find((r) => r.name === 'dokku')?.release ?? null, 'the release in status', 60_000);
  const log = join(dataDir, 'logs', 'dokku', `build-${release}.log`);
  await waitFor(() => /-----> postdeploy done/.test(readFileSync(log, 'utf8')), 'postdeploy to finish', 60_000);
  assert.match(readFileSync(log, 'utf8'), /postdeploy sees \/app\/predeploy\.test/);
});
