import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { httpGet, statusJson, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * No silent downgrade: a ship where bubblewrap cannot run says so in its log and status and runs no service code,
 * unless STARPHLEET_RUNTIME=process is set. The ship runs in a mount namespace of its own where /usr/bin/bwrap is
 * /dev/null (not executable), the way a machine without a working bwrap looks; nothing outside that namespace changes.
 */
const root = tmpDir('sp-downgrade-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
const NO_BWRAP = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind /dev/null /usr/bin/bwrap && exec "$@"', 'sh'];
const DEPLOY_MS = 180_000;
let ship: ShipProcess | undefined;

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

async function shipSandbox(): Promise<string> {
  return (await statusJson<{ ship: { sandbox: string } }>(dataDir)).ship.sandbox;
}

describe('a ship without a working bubblewrap', () => {
  test('says so in its log and status, and its service fails to build with the reason instead of running unsandboxed', async () => {
    assert.equal(process.getuid?.(), 0, 'the ship runs as root here, as in CI (the mount namespace needs it)');
    fixtureRepo('static-site', app);
    initRepo(hq, { 'site/orders': `autodeploy ${app}\n` });
    ship = await startShip({ headquarters: hq, dataDir, wrap: NO_BWRAP });
    await ship.waitForLog(/WARNING: sandbox: .*bwrap/, 60_000);
    assert.doesNotMatch(ship.output(), /instances run with the bwrap runtime/);
    assert.match(await shipSandbox(), /^bubblewrap, but: .*bwrap/);
    const row = await waitFor(async () => (await statusServices(dataDir)).find((s) => s.name === 'site' && s.state === 'failed'), 'site to fail', DEPLOY_MS, 500);
    assert.match(row.message, /no sandbox on this ship: .*STARPHLEET_RUNTIME=process/, row.message);
    assert.notEqual((await httpGet(ship.httpPort, '/site/')).status, 200);
    await ship.stop();
    ship = undefined;
  });

  test('with STARPHLEET_RUNTIME=process set explicitly it serves, and status says it runs without a sandbox', async () => {
    ship = await startShip({ headquarters: hq, dataDir, wrap: NO_BWRAP, env: { STARPHLEET_RUNTIME: 'process' } });
    await ship.waitForLog(/WARNING: STARPHLEET_RUNTIME=process: builds and instances run WITHOUT a sandbox/, 60_000);
    assert.match(await shipSandbox(), /^none: STARPHLEET_RUNTIME=process/);
    const s = ship;
    await waitFor(async () => (await httpGet(s.httpPort, '/site/')).status === 200, 'site to serve', DEPLOY_MS, 500);
  });
});
