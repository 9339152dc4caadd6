import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { releasePhaseOf, releaseShip } from '../../../src/phleet/release-gate.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, writeFiles } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { httpGet, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const NAMES = ['s1', 's2', 's3'] as const;

interface Entry {
  services: Record<string, { sha: string | null; state: string; since: string }>;
  releasePhases?: Record<string, { sha: string; result: string; at: string }>;
}

/**
 * The release command appends a line to a file outside every ship's data dir, so the process runtime runs it (a
 * sandbox sees only its own release and /var/data): the file counts how often, and where, the phleet ran it.
 */
describe('release phase once per phleet: three ships, the release command runs on s1 only', { timeout: 900_000 }, () => {
  const root = tmpDir('sp-release-');
  const app = join(root, 'app');
  const counter = join(root, 'release-runs.txt');
  let hq: PushableHq;
  const ships = new Map<string, ShipProcess>();
  const ship = (n: string): ShipProcess => ships.get(n) as ShipProcess;
  const entry = (n: string): Entry => hq.entry(n) as unknown as Entry;
  const runs = (): string[] => (existsSync(counter) ? readFileSync(counter, 'utf8').split('\n').filter(Boolean) : []);
  const serves = async (n: string, version: string): Promise<boolean> => {
    const r = await httpGet(ship(n).httpPort, '/web/').catch(() => null);
    return r?.status === 200 && r.body.trim() === version;
  };

  before(async () => {
    fixtureRepo('release-once-app', app);
    // No service yet: the phleet first knows its ships (ships/ s1, s2, s3), then gets a release to run.
    hq = new PushableHq(root, { README: 'phleet\n' });
    await Promise.all(NAMES.map(async (n) => ships.set(n, await startShip({ headquarters: hq.bare, dataDir: join(root, `data-${n}`), pulse: 0.5, args: ['--name', n], env: { STARPHLEET_RUNTIME: 'process' } }))));
    await waitFor(() => NAMES.every((n) => hq.ships().includes(n)), () => `three ships/ entries, have ${hq.ships().join(', ')}`, 120_000, 250);
    hq.commit({ 'web/orders': `autodeploy ${app}\nexport RELEASE_COUNTER=${counter}\nexport HEALTHCHECK_TIMEOUT=30\n` }, 'order web');
  });

  after(async () => {
    await Promise.all([...ships.values()].map((s) => s.stop()));
    for (const n of NAMES) await killRecordedInstances(join(root, `data-${n}`));
  });

  test('the first release: s1 (first name in ships/) runs it once, s2 and s3 start it after its entry says so', async () => {
    for (const n of NAMES) await waitFor(() => serves(n, 'v1'), () => `${n} serves v1\n${ship(n).output().slice(-2500)}`, 300_000, 500);
    assert.deepEqual(runs(), ['s1 v1']);
    await waitFor(() => NAMES.every((n) => entry(n).services.web?.state === 'serving'), 'entries say serving', 120_000, 250);
    const phase = entry('s1').releasePhases?.web;
    assert.equal(phase?.result, 'succeeded');
    assert.equal(phase?.sha, entry('s1').services.web?.sha);
    for (const n of ['s2', 's3']) {
      assert.match(ship(n).output(), /web: waiting for the release phase of [0-9a-f]{7} on ship s1/);
      assert.equal(entry(n).releasePhases, undefined, `${n} ran no release phase`);
      assert.ok(Date.parse(entry(n).services.web?.since ?? '') >= Date.parse(phase?.at ?? ''), `${n} served before s1 reported the release phase`);
    }
  });

  test('a new sha: one more run, on s1 again; all three serve it', async () => {
    commit(app, { VERSION: 'v2\n' }, 'v2');
    for (const n of NAMES) await waitFor(() => serves(n, 'v2'), () => `${n} serves v2\n${ship(n).output().slice(-2500)}`, 300_000, 500);
    assert.deepEqual(runs(), ['s1 v1', 's1 v2']);
  });

  test('a release phase that fails on s1 keeps s2 and s3 on the release they serve, and says why', async () => {
    commit(app, { VERSION: 'v3 fail\n' }, 'v3 fails its release phase');
    await waitFor(() => entry('s1').releasePhases?.web?.result === 'failed', 's1 reports the failed release phase', 300_000, 500);
    // The log first (cheap to poll), then status once: starting the CLI is seconds on a loaded machine.
    await Promise.all(['s2', 's3'].map((n) => ship(n).waitForLog(/web: deploy of [0-9a-f]{7} failed: release \S+: release phase failed on ship s1/, 300_000)));
    // Polled: a retry (5 s, then longer) may be building when the CLI answers, and each retry fails the same way.
    const said = /release phase failed on ship s1 for [0-9a-f]{7}.*; release \S+ \([0-9a-f]{7}\) keeps serving/;
    for (const n of ['s2', 's3']) {
      let last = '';
      await waitFor(async () => {
        const web = (await statusServices(ship(n).dataDir)).find((s) => s.name === 'web');
        last = JSON.stringify(web);
        return said.test(web?.message ?? '');
      }, () => `${n}'s status to say why: ${last}`, 120_000, 500);
    }
    for (const n of NAMES) assert.equal(await serves(n, 'v2'), true, `${n} still serves v2`);
    assert.deepEqual(runs(), ['s1 v1', 's1 v2']);
  });

  test('which ship runs it: the first canary, else the first name in ships/, else none known', () => {
    const dir = join(root, 'gate-hq');
    const e = (name: string, phases?: object): string => JSON.stringify({ name, addresses: [], sshPort: 1, hostKeys: [], clientKey: 'k', services: {}, ...(phases ? { releasePhases: phases } : {}) });
    writeFiles(dir, { README: 'x\n' });
    assert.equal(releaseShip(dir), null);
    writeFiles(dir, { 'ships/zeta': e('zeta'), 'ships/beta': e('beta', { web: { sha: 'a'.repeat(40), result: 'succeeded', at: '2026-01-01T00:00:00Z' } }) });
    assert.equal(releaseShip(dir), 'beta');
    writeFiles(dir, { canary: '# canaries\nzeta\nbeta\n' });
    assert.equal(releaseShip(dir), 'zeta');
    // The asking ship counts before its own entry is in ships/: two ships that each see only the other's entry agree.
    const pair = join(root, 'gate-pair');
    writeFiles(pair, { 'ships/s2': e('s2') });
    assert.equal(releaseShip(pair, pair, 's1'), 's1');
    assert.equal(releaseShip(pair, pair, 's2'), 's2');
    writeFiles(pair, { 'ships/s1': e('s1') });
    assert.equal(releaseShip(pair, pair, 's2'), 's1');
    assert.equal(releaseShip(join(root, 'gate-none'), join(root, 'gate-none'), 'lone'), 'lone', 'a lone ship runs its own');
    assert.equal(releasePhaseOf(dir, 'beta', 'web', 'a'.repeat(40)), 'succeeded');
    assert.equal(releasePhaseOf(dir, 'beta', 'web', 'b'.repeat(40)), 'pending', 'another sha');
    assert.equal(releasePhaseOf(dir, 'beta', 'api', 'a'.repeat(40)), 'pending', 'another service');
    assert.equal(releasePhaseOf(dir, 'zeta', 'web', 'a'.repeat(40)), 'pending', 'a ship that ran none');
  });
});
