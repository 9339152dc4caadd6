import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { gitIn } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { cli, httpGet, statusJson } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { timedLoad } from '../../helpers/timed-load.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/** s1 tags itself web (--tag), s2 api, s3 nothing of its own: HQ `tags` gives it web. */
const SHIPS = { s1: ['--tag', 'web'], s2: ['--tag', 'api'], s3: [] } as const;
type Name = keyof typeof SHIPS;
const NAMES = Object.keys(SHIPS) as Name[];

describe('placement: on web runs only on the ships tagged web; a move hands off, drains and stops', { timeout: 900_000 }, () => {
  const root = tmpDir('sp-place-');
  const app = join(root, 'app');
  let hq: PushableHq;
  const ships = new Map<Name, ShipProcess>();
  const ship = (n: Name): ShipProcess => ships.get(n) as ShipProcess;
  const serves = async (n: Name): Promise<boolean> => (await httpGet(ship(n).httpPort, '/web/health').catch(() => null))?.status === 200;
  const notHere = async (n: Name): Promise<boolean> => (await httpGet(ship(n).httpPort, '/web/health').catch(() => null))?.status === 404;
  const services = async (n: Name): Promise<string[]> => (await statusJson<{ services: { name: string }[] }>(ship(n).dataDir)).services.map((s) => s.name);

  before(async () => {
    fixtureRepo('stream-app', app);
    hq = new PushableHq(root, { 'web/orders': `autodeploy ${app}\non web\n`, tags: '# the admiral tags s3 here\ns3 web\n' });
    await Promise.all(
      NAMES.map(async (n) => {
        const s = await startShip({ headquarters: hq.bare, dataDir: join(root, `data-${n}`), pulse: 0.5, args: ['--name', n, ...SHIPS[n]], env: { STARPHLEET_RUNTIME: 'process' } });
        ships.set(n, s);
      }),
    );
  });

  after(async () => {
    await Promise.all([...ships.values()].map((s) => s.stop()));
    for (const n of NAMES) await killRecordedInstances(join(root, `data-${n}`));
  });

  test('web runs on s1 (--tag web) and s3 (HQ tags), not on s2; entries carry the tags; phleet status shows where', async () => {
    for (const n of ['s1', 's3'] as const) await waitFor(() => serves(n), `${n} serves /web/`, 300_000, 500);
    await waitFor(() => hq.ships().length === 3 && (hq.entry('s3').services as Record<string, { state: string }>).web?.state === 'serving', 'three entries, s3 serving web', 120_000, 500);
    assert.equal(await notHere('s2'), true, 's2 answers 404: nothing is placed there');
    assert.deepEqual(await services('s2'), []);
    assert.deepEqual(hq.entry('s1').tags, ['web']);
    assert.deepEqual(hq.entry('s2').tags, ['api']);
    assert.equal(hq.entry('s3').tags, undefined, 'HQ tags are HQ\'s: not written back');
    const st = await statusJson<{ ship: { tags: string[]; headquarters: { contact: { lastContact: string; failingSince: string | null } } } }>(ship('s3').dataDir);
    assert.deepEqual(st.ship.tags, ['web']);
    assert.equal(st.ship.headquarters.contact.failingSince, null);
    let r = { code: -1, stdout: '', stderr: '' };
    await waitFor(async () => {
      r = await cli(ship('s2').dataDir, 'phleet', 'status');
      return r.code === 0 && /^web +web +s1, s3 +s1, s3$/m.test(r.stdout);
    }, () => `phleet status shows web placed and running on s1, s3:\n${r.stdout}${r.stderr}`, 120_000, 1000);
    assert.match(r.stdout, /^s1 +[0-9a-f]{7} +\d+ s ago +web$/m, r.stdout);
    assert.match(r.stdout, /^s2 +[0-9a-f]{7} +\d+ s ago +api$/m, r.stdout);
    assert.match(r.stdout, /^s2 +- +no services/m, r.stdout);
    // phleet sync: every ship checks HQ at once and says what it runs and when HQ last answered.
    const sync = await cli(ship('s2').dataDir, 'phleet', 'sync');
    assert.equal(sync.code, 0, sync.stdout + sync.stderr);
    for (const n of NAMES) assert.match(sync.stdout, new RegExp(`^${n}: hq [0-9a-f]{7}: last contact \\S+ \\(\\d+ s ago\\)$`, 'm'), sync.stdout);
  });

  test('hq check reads the tags of ships/ and HQ tags: a word that names no ship or tag is a problem', async () => {
    const check = (): Promise<{ code: number; out: string }> =>
      new Promise((resolve) => execFile(process.execPath, [...CLI_ARGS, 'hq', 'check', hq.work], { timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code) || 1 : 0, out: stdout + stderr })));
    gitIn(hq.work, 'pull', '-q', '--rebase', 'origin', 'master');
    const good = await check();
    assert.equal(good.code, 0, good.out);
    assert.match(good.out, /placement:\n {2}\/web on web -> s1, s3\n/);
    writeFileSync(join(hq.work, 'web', 'orders'), `autodeploy ${app}\non web wbe\n`);
    const bad = await check();
    assert.equal(bad.code, 1, bad.out);
    assert.match(bad.out, /web\/orders: on wbe: no ship in ships\/ \(HQ\) is named or tagged so/);
    gitIn(hq.work, 'checkout', '--', 'web/orders');
  });

  test('moved to on api: s1 and s3 serve until s2 serves, then drain and stop; no request fails under load', async () => {
    const load = timedLoad(ship('s1').httpPort, '/web/slow?ms=150', { clients: 4 });
    await sleep(1500);
    const movedAt = Date.now();
    hq.commit({ 'web/orders': `autodeploy ${app}\non api\n` }, 'move web to the api ships');
    await waitFor(() => serves('s2'), 's2 serves /web/', 300_000, 250);
    const s2ServedAt = Date.now();
    for (const n of ['s1', 's3'] as const) await waitFor(() => notHere(n), `${n} stops serving /web/ once s2 does`, 120_000, 250);
    // The load's own requests see s1's 404 too (each takes 150 ms or more: stopped at once, it may have none yet).
    await waitFor(() => load.samples.some((s) => s.status === 404), "s1's 404 in the load", 30_000, 50);
    const samples = await load.stop();
    const failures = samples.filter((s) => s.failure !== null);
    assert.deepEqual(failures.map((f) => f.failure), [], 'no failed request on s1 through the move');
    const served = samples.filter((s) => s.status === 200);
    assert.ok(served.some((s) => s.at > movedAt + 1000), 's1 kept serving after the commit (while s2 built)');
    const first404 = samples.find((s) => s.status === 404);
    assert.ok(first404, 's1 stopped serving it');
    // The hand-off: s1 stops only once s2's entry says serving (s2 served before that entry was written).
    assert.ok(first404.at >= s2ServedAt - 2000, `s1's first 404 (${first404.at}) came after s2 served (${s2ServedAt})`);
    assert.ok(served.every((s) => s.body.startsWith('slow done')), 'every 200 was the service answering');
    assert.match(ship('s1').output(), /web: moved to s2 \(on api\), which serve it: draining and stopping here/);
    assert.match(ship('s3').output(), /web: moved to s2 \(on api\), which serve it: draining and stopping here/);
    assert.doesNotMatch(ship('s2').output(), /web: moved/);
    assert.match(ship('s1').output(), /placed web on api/, 'the HQ change is a placement, not an orders change');
    assert.doesNotMatch(ship('s1').output(), /changed web \(orders changed\)/);
    for (const n of ['s1', 's3'] as const) await waitFor(async () => (await services(n)).length === 0, `${n} status without web`, 60_000, 500);
  });

  test('idle ships write nothing: no commit to ships/ over twenty pulses', async () => {
    await waitFor(() => NAMES.every((n) => (n === 's2') === ((hq.entry(n).services as Record<string, unknown>).web !== undefined)), 'entries say where web runs', 120_000, 500);
    await sleep(3000);
    const before = gitIn(hq.bare, 'rev-parse', 'master');
    await sleep(10_000);
    assert.equal(gitIn(hq.bare, 'rev-parse', 'master'), before, 'HQ did not move');
  });
});
