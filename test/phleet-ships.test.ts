import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultShipName, shipNameProblem } from '../src/phleet/ship-name.js';
import { fixtureRepo } from './helpers/fixtures.js';
import { commit } from './helpers/git.js';
import { killRecordedInstances } from './helpers/instances.js';
import { PushableHq } from './helpers/phleet-hq.js';
import { httpGet } from './helpers/phleet.js';
import { freePort, startShip, type ShipProcess } from './helpers/ship.js';
import { tmpDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

const NAMES = ['s1', 's2', 's3'] as const;

describe('a phleet of three ships on one HQ: write-back and convergence', { timeout: 900_000 }, () => {
  const root = tmpDir('sp-phleet-');
  const app = join(root, 'app');
  let hq: PushableHq;
  const ships = new Map<string, ShipProcess>();
  const ports = new Map<string, { ssh: number; http: number }>();

  async function start(name: string): Promise<ShipProcess> {
    const p = ports.get(name) ?? { ssh: await freePort(), http: await freePort() };
    ports.set(name, p);
    const ship = await startShip({ headquarters: hq.bare, dataDir: join(root, `data-${name}`), pulse: 0.5, sshPort: p.ssh, httpPort: p.http, args: ['--name', name] });
    ships.set(name, ship);
    return ship;
  }

  function ship(name: string): ShipProcess {
    const s = ships.get(name);
    if (!s) throw new Error(`no ship ${name}`);
    return s;
  }

  async function serves(name: string, marker: string): Promise<boolean> {
    const r = await httpGet(ship(name).httpPort, '/web/').catch(() => null);
    return r?.status === 200 && r.body.includes(marker);
  }

  before(async () => {
    fixtureRepo('static-site', app);
    hq = new PushableHq(root, { 'web/orders': `autodeploy ${app}\n` });
    // Started at the same moment: their first write-backs race for the same branch.
    await Promise.all(NAMES.map((n) => start(n)));
  });

  after(async () => {
    await Promise.all([...ships.values()].map((s) => s.stop()));
    for (const n of NAMES) await killRecordedInstances(join(root, `data-${n}`));
  });

  test('all three serve the service; their three ships/ entries land in a linear history', async () => {
    for (const n of NAMES) await waitFor(() => serves(n, 'static-site fixture'), `${n} serves /web/`, 300_000, 500);
    await waitFor(() => hq.ships().length === 3 && NAMES.every((n) => (hq.entry(n).services as Record<string, { state: string }>).web?.state === 'serving'), () => `three serving entries in ships/ (now: ${hq.ships().join(', ')})`, 120_000, 500);
    assert.deepEqual(hq.ships(), [...NAMES]);
    assert.equal(hq.merges(), 0, 'no merge commit: every write-back was a fast-forward');
    for (const n of NAMES) {
      const e = hq.entry(n);
      assert.equal(e.name, n);
      assert.deepEqual(e.addresses, ['127.0.0.1']);
      assert.equal(e.sshPort, ship(n).sshPort);
      assert.match(String((e.hostKeys as string[])[0]), /^SHA256:/);
      assert.match(String(e.clientKey), /^ssh-ed25519 [A-Za-z0-9+/=]+ starphleet-ship-s\d$/);
      assert.match(String(e.hq), /^[0-9a-f]{40}$/);
    }
  });

  test('a commit that changes only ships/ is not an HQ change: the ships run the admiral\'s sha and redeploy nothing', async () => {
    const admiralSha = hq.commit({ 'NOTES.md': 'an HQ change that redeploys nothing\n' }, 'notes');
    for (const n of NAMES) await waitFor(() => ship(n).output().includes(`-> ${admiralSha.slice(0, 7)}`), `${n} sees ${admiralSha.slice(0, 7)}`, 60_000, 250);
    // The ships write back the new HQ sha they run: those commits change only ships/.
    await waitFor(() => NAMES.every((n) => hq.entry(n).hq === admiralSha && ship(n).output().includes(`written back (hq ${admiralSha.slice(0, 7)}`)), 'entries report the admiral sha', 60_000, 250);
    const before = NAMES.map((n) => ship(n).output().length);
    // Another ship's entry changes (its write-back): a ships/-only commit on top.
    hq.commit({ 'ships/visitor': '{"name":"visitor"}\n' }, 'ships/ only');
    await new Promise((r) => setTimeout(r, 3000));
    for (const [i, n] of NAMES.entries()) {
      const later = ship(n).output().slice(before[i]);
      assert.doesNotMatch(later, /hq [0-9a-f]{7} -> /, `${n} took a ships/-only commit for an HQ change:\n${later}`);
      assert.doesNotMatch(later, /written back/, `${n} wrote back again after a ships/-only commit:\n${later}`);
    }
    hq.commit({ 'ships/visitor': null }, 'visitor gone');
  });

  test('a service commit reaches all three; a ship stopped meanwhile serves it after its restart', async () => {
    await ship('s3').stop();
    commit(app, { 'index.html': '<h1>second version</h1>\n' }, 'v2');
    for (const n of ['s1', 's2']) await waitFor(() => serves(n, 'second version'), `${n} serves v2`, 300_000, 500);
    await start('s3');
    await waitFor(() => serves('s3', 'second version'), 's3 serves v2 after its restart', 300_000, 500);
    await waitFor(() => (hq.entry('s3').services as Record<string, { state: string; sha: string }>).web?.state === 'serving', 's3 entry serving', 60_000, 500);
    assert.equal(hq.merges(), 0);
  });
});

describe('ship names', () => {
  test('the default name is stable for a host key and differs between keys', () => {
    const a = defaultShipName('SHA256:abc');
    assert.equal(a, defaultShipName('SHA256:abc'));
    assert.notEqual(a, defaultShipName('SHA256:abd'));
    assert.match(a, /^ship-[0-9a-f]{8}$/);
  });

  test('a name that is not a plain file name is refused', () => {
    for (const bad of ['', '../x', 'a/b', '.hidden', '-x', 'x'.repeat(64), 'a b']) assert.ok(shipNameProblem(bad), bad);
    assert.equal(shipNameProblem('ship-1.east'), null);
  });
});
