import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { startGitDaemon, type GitDaemon } from '../../helpers/git-daemon.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { cli, httpGet, statusJson } from '../../helpers/phleet.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { startTcpGate, type TcpGate } from '../../helpers/tcp-gate.js';
import { timedLoad } from '../../helpers/timed-load.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

interface Contact {
  readonly lastContact: string | null;
  readonly failingSince: string | null;
  readonly failures: number;
}

/**
 * Two ships on one HQ served by a real git daemon, each through a TCP gate of its own that the test cuts like a
 * partition (connections accepted and never answered). The service repo comes through the same gate (orders name
 * git://git.test/, which each ship's git config maps to its gate), as a real partition cuts a ship from its git host.
 */
describe('partitions: a ship cut from HQ keeps serving, says since when, and catches up', { timeout: 900_000 }, () => {
  const root = tmpDir('sp-part-');
  let hq: PushableHq;
  let daemon: GitDaemon;
  const gates = new Map<string, TcpGate>();
  const ships = new Map<string, ShipProcess>();
  const ship = (n: string): ShipProcess => ships.get(n) as ShipProcess;
  const greeting = async (n: string): Promise<string | null> => {
    const r = await httpGet(ship(n).httpPort, '/web/').catch(() => null);
    return r?.status === 200 ? (JSON.parse(r.body) as { greeting: string }).greeting : null;
  };
  const contact = async (n: string): Promise<Contact> => (await statusJson<{ ship: { headquarters: { contact: Contact } } }>(ship(n).dataDir)).ship.headquarters.contact;

  async function start(n: string): Promise<void> {
    const gate = gates.get(n) ?? (await startTcpGate({ host: '127.0.0.1', port: daemon.port }));
    gates.set(n, gate);
    const via = `git://127.0.0.1:${gate.port}/`;
    const env = {
      STARPHLEET_RUNTIME: 'process',
      STARPHLEET_HQ_TIMEOUT: '3',
      STARPHLEET_HQ_BACKOFF_MAX: '4',
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: `url.${via}.insteadOf`,
      GIT_CONFIG_VALUE_0: 'git://git.test/',
    };
    ships.set(n, await startShip({ headquarters: `${via}hq.git`, dataDir: join(root, `data-${n}`), pulse: 0.5, args: ['--name', n], env }));
  }

  before(async () => {
    fixtureRepo('stream-app', join(root, 'app'));
    hq = new PushableHq(root, { 'web/orders': 'autodeploy git://git.test/app\nexport GREETING=v1\n' });
    daemon = await startGitDaemon(root, { port: await freePort() });
    await Promise.all(['s1', 's2'].map((n) => start(n)));
  });

  after(async () => {
    await Promise.all([...ships.values()].map((s) => s.stop()));
    for (const n of ['s1', 's2']) await killRecordedInstances(join(root, `data-${n}`));
    for (const g of gates.values()) await g.close();
    await daemon?.stop();
  });

  test('both serve v1 over git://; each HQ check is one request when nothing moved', async () => {
    for (const n of ['s1', 's2']) await waitFor(async () => (await greeting(n)) === 'v1', `${n} serves v1`, 300_000, 500);
    // Both entries must say serving before the quiet window: a ship's write of its serving state is paced (a random
    // start, up to three pulses for a transient step) and can land seconds after it serves, a push in the window.
    const serving = (n: string): boolean => (hq.entry(n).services as Record<string, { state?: string }> | undefined)?.web?.state === 'serving';
    await waitFor(() => hq.ships().length === 2 && ['s1', 's2'].every(serving), 'both entries written back, web serving', 120_000, 500);
    await sleep(2000);
    const from = daemon.requests().length;
    await sleep(10_000);
    const hqRequests = daemon.requests().slice(from).filter((r) => r.path === '/hq.git');
    // Two ships, pulse 0.5 s (-20% at the least) after each check ends, 10 s: at most 50 ls-remotes (fewer on a loaded
    // machine, where a check takes a while); a fetch only when something moved, and nothing did.
    assert.ok(hqRequests.length >= 4 && hqRequests.length <= 50, `${hqRequests.length} HQ requests in 10 s`);
    assert.ok(hqRequests.every((r) => r.service === 'upload-pack'), `a push to HQ while nothing moved: ${JSON.stringify(hqRequests.filter((r) => r.service !== 'upload-pack'))}`);
  });

  test('cut from HQ: s2 keeps serving v1 under load while s1 moves to v2, says since when, and phleet status shows it', async () => {
    const load = timedLoad(ship('s2').httpPort, '/web/', { clients: 4 });
    const before = await contact('s2');
    assert.ok(before.lastContact);
    gates.get('s2')?.cut();
    const cutAt = Date.now();
    await waitFor(async () => (await contact('s2')).failingSince !== null, 's2 says it cannot reach HQ', 60_000, 500);
    const v2 = hq.commit({ 'web/orders': 'autodeploy git://git.test/app\nexport GREETING=v2\n' }, 'v2');
    await waitFor(async () => (await greeting('s1')) === 'v2', 's1 serves v2', 300_000, 500);
    assert.equal(await greeting('s2'), 'v1', 's2 serves what it has');
    await waitFor(async () => (await contact('s2')).failures >= 2, 's2 tries again and fails again', 60_000, 500);
    const during = await contact('s2');
    assert.ok(Date.parse(during.lastContact ?? '') <= cutAt, 'its last contact is from before the cut');
    const text = await cli(ship('s2').dataDir, 'status');
    assert.match(text.stdout, /CANNOT REACH HQ since \S+ \(\d+ tries, timed out: .*\); serving what it has; last contact \S+ \(\d+ s ago\)/, text.stdout);
    let ps = { code: -1, stdout: '', stderr: '' };
    await waitFor(async () => {
      ps = await cli(ship('s1').dataDir, 'phleet', 'status');
      return /^s2 +[0-9a-f]{7} +CANNOT REACH HQ since/m.test(ps.stdout) && new RegExp(`^s1 +${v2.slice(0, 7)} `, 'm').test(ps.stdout);
    }, () => `phleet status on s1 shows s2 cut from HQ:\n${ps.stdout}${ps.stderr}`, 120_000, 1000);
    assert.equal(ps.code, 0, 'both ships answered');
    assert.doesNotMatch(ps.stdout, new RegExp(`^s2 +${v2.slice(0, 7)}`, 'm'), 's2 still runs the old HQ');
    gates.get('s2')?.heal();
    await waitFor(async () => (await greeting('s2')) === 'v2', 's2 catches up once HQ is back', 120_000, 250);
    await sleep(1000);
    const samples = await load.stop();
    assert.deepEqual(samples.filter((s) => s.failure !== null).map((s) => s.failure), [], 'no request failed on s2 through the cut and the heal');
    const greetings = samples.map((s) => (JSON.parse(s.body) as { greeting: string }).greeting);
    assert.ok(greetings.includes('v1') && greetings.at(-1) === 'v2', 'v1 throughout the cut, then v2');
    assert.equal((await contact('s2')).failingSince, null);
    assert.match(ship('s2').output(), /hq sync works again \(it failed since /);
  });

  test('a ship the others cannot reach shows as unreachable (with what its entry said), not as failed', async () => {
    await waitFor(() => (hq.entry('s1').services as Record<string, { state: string }>).web?.state === 'serving', 's1 entry', 60_000, 500);
    await ship('s1').stop();
    const r = await cli(ship('s2').dataDir, 'phleet', 'status');
    assert.equal(r.code, 1, 'a ship did not answer');
    assert.match(r.stdout, /^s1 +[0-9a-f]{7} +unreachable from here \(its ships\/ entry says hq [0-9a-f]{7}\)/m, r.stdout);
    assert.match(r.stdout, /^s1 +web +unreachable +[0-9a-f]{7} +\S+ +its ships\/ entry says serving since /m, r.stdout);
    assert.match(r.stdout, /^web +\(every ship\) +s1, s2 +s1 \(unreachable; its entry\), s2$/m, r.stdout);
    assert.doesNotMatch(r.stdout, /^s1 .*failed/m);
    assert.match(r.stdout + r.stderr, /s1: unreachable: /);
  });
});
