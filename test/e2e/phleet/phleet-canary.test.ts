import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { httpGet, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

const NAMES = ['s1', 's2', 's3'] as const;
// Long enough that the test sees s1 serve the new sha before the window ends on a loaded machine (at 8 s, a CI run
// with five files at a time saw s1 serve v2 only after s2 had taken it: the test's own check came late).
const WINDOW_S = 20;

interface Entry {
  services: Record<string, { sha: string | null; state: string; since: string }>;
}

describe('canary: ship s1 deploys a new sha first, the others follow only after its window', { timeout: 900_000 }, () => {
  const root = tmpDir('sp-canary-');
  const app = join(root, 'app');
  let hq: PushableHq;
  const ships = new Map<string, ShipProcess>();
  const ship = (n: string): ShipProcess => ships.get(n) as ShipProcess;
  const serves = async (n: string, marker: string): Promise<boolean> => {
    const r = await httpGet(ship(n).httpPort, '/web/').catch(() => null);
    return r?.status === 200 && r.body.includes(marker);
  };

  before(async () => {
    fixtureRepo('static-site', app);
    hq = new PushableHq(root, {
      'web/orders': `autodeploy ${app}\nexport HEALTHCHECK_TIMEOUT=15\n`,
      canary: 's1\n',
      '.starphleet': `export STARPHLEET_CANARY_SECONDS=${WINDOW_S}\n`,
    });
    await Promise.all(NAMES.map(async (n) => ships.set(n, await startShip({ headquarters: hq.bare, dataDir: join(root, `data-${n}`), pulse: 0.5, args: ['--name', n] }))));
    for (const n of NAMES) await waitFor(() => serves(n, 'static-site fixture'), `${n} serves v1`, 300_000, 500);
  });

  after(async () => {
    await Promise.all([...ships.values()].map((s) => s.stop()));
    for (const n of NAMES) await killRecordedInstances(join(root, `data-${n}`));
  });

  test('a good sha reaches s2 and s3 only after s1 served it healthy for the window', async () => {
    const v2 = commit(app, { 'index.html': '<h1>second version</h1>\n' }, 'v2');
    await waitFor(() => serves('s1', 'second version'), 's1 serves v2', 300_000, 250);
    for (const n of ['s2', 's3']) assert.equal(await serves(n, 'second version'), false, `${n} took v2 before the canary window`);
    for (const n of ['s2', 's3']) await waitFor(() => serves(n, 'second version'), `${n} serves v2`, 300_000, 500);
    await waitFor(() => NAMES.every((n) => (hq.entry(n) as unknown as Entry).services.web?.sha === v2 && (hq.entry(n) as unknown as Entry).services.web?.state === 'serving'), 'entries serving v2', 120_000, 500);
    const canarySince = Date.parse((hq.entry('s1') as unknown as Entry).services.web?.since ?? '');
    for (const n of ['s2', 's3']) {
      const since = Date.parse((hq.entry(n) as unknown as Entry).services.web?.since ?? '');
      assert.ok(since - canarySince >= WINDOW_S * 1000, `${n} served v2 ${(since - canarySince) / 1000} s after the canary did`);
    }
    assert.ok(ship('s2').output().includes('held by canary s1'), 's2 logged the hold');
  });

  test('a sha that fails its health check on s1 never reaches s2 and s3; their status says held by canary s1', async () => {
    const from = ship('s1').output().length;
    commit(app, { 'index.html': '<h1>third version</h1>\n', healthcheck: '/no-such-page\n' }, 'v3 unhealthy');
    await waitFor(async () => (await statusServices(ship('s1').dataDir)).find((s) => s.name === 'web')?.message.match(/health/i), () => `s1 fails v3\n${ship('s1').output().slice(from).slice(-2000)}`, 300_000, 500);
    // Past the canary window and then some: nothing must move on s2 and s3.
    await sleep((WINDOW_S + 4) * 1000);
    for (const n of ['s2', 's3']) {
      assert.equal(await serves(n, 'second version'), true, `${n} still serves v2`);
      const web = (await statusServices(ship(n).dataDir)).find((s) => s.name === 'web');
      assert.match(web?.message ?? '', /held by canary s1/, `${n}: ${JSON.stringify(web)}`);
    }
  });
});
