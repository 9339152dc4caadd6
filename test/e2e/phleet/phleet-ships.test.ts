import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { defaultShipName, shipNameProblem } from '../../../src/phleet/ship-name.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { cli, httpGet } from '../../helpers/phleet.js';
import { execFile } from 'node:child_process';
import { phleetExec } from '../../../src/server/access/phleet-exec.js';
import { signPhleetRequest } from '../../../src/admiral/sign-request.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const NAMES = ['s1', 's2', 's3'] as const;

describe('a phleet of three ships on one HQ: write-back and convergence', { timeout: 900_000 }, () => {
  const root = tmpDir('sp-phleet-');
  const app = join(root, 'app');
  let hq: PushableHq;
  const ships = new Map<string, ShipProcess>();
  const ports = new Map<string, { ssh: number; http: number }>();
  let admiralKey: TestKey;

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

  /** OpenSSH as user `ship` with one ship's client key, to another ship. */
  function sshAsShip(from: string, to: string, command: string): Promise<{ code: number; stdout: string; stderr: string }> {
    const args = ['-F', '/dev/null', '-T', '-p', String(ship(to).sshPort), '-i', join(root, `data-${from}`, 'ship_client_key'), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', 'ship@127.0.0.1', command];
    return new Promise((resolve) => execFile('ssh', args, { timeout: 60_000 }, (err, stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr })));
  }

  async function serves(name: string, marker: string): Promise<boolean> {
    const r = await httpGet(ship(name).httpPort, '/web/').catch(() => null);
    return r?.status === 200 && r.body.includes(marker);
  }

  before(async () => {
    fixtureRepo('static-site', app);
    admiralKey = makeKey(root, 'admiral');
    hq = new PushableHq(root, { 'web/orders': `autodeploy ${app}\n`, 'authorized_keys/admiral': admiralKey.pub });
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

  test('phleet status on s1 lists the services of all three; logs come back with ship names', async () => {
    const r = await cli(ship('s1').dataDir, 'phleet', 'status');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    for (const n of NAMES) assert.match(r.stdout, new RegExp(`^${n} +web +serving +[0-9a-f]{7} `, 'm'), r.stdout);
    // Logs come from other ships only on an admiral's signed request (what `starphleet -s s1 phleet logs` adds).
    const unsigned = await cli(ship('s1').dataDir, 'phleet', 'logs', 'web');
    assert.equal(unsigned.code, 2);
    assert.match(unsigned.stderr, /only on an admiral's signed request/);
    const proof = await signPhleetRequest('logs', 'web', { ...process.env, STARPHLEET_ADMIRAL_KEY: admiralKey.privatePath });
    const logs = await cli(ship('s1').dataDir, 'phleet', 'logs', 'web', '--proof', proof);
    assert.equal(logs.code, 0, logs.stderr + logs.stdout);
    for (const n of NAMES) assert.match(logs.stdout + logs.stderr, new RegExp(`^${n}: `, 'm'));
  });

  test('user ship runs exactly the phleet operations, with a client key from ships/, and nothing else', async () => {
    const ok = await sshAsShip('s2', 's1', 'starphleet status --json');
    assert.equal(ok.code, 0, ok.stderr);
    assert.equal((JSON.parse(ok.stdout) as { ship: { name: string } }).ship.name, 's1');
    for (const bad of ['id', 'starphleet status --json; id', 'starphleet status', 'starphleet logs web', 'starphleet redeploy web', 'starphleet logs web; id', 'starphleet logs ../x', 'starphleet redeploy web -f', 'starphleet update', 'starphleet phleet status', 'bash -i']) {
      const r = await sshAsShip('s2', 's1', bad);
      assert.notEqual(r.code, 0, bad);
      assert.match(r.stderr, /ship user only/, `${bad}: ${r.stderr}`);
      assert.doesNotMatch(r.stdout, /uid=/);
    }
    // A key that is in no ships/ entry is not a ship.
    const stranger = join(root, 'stranger');
    await new Promise((r) => execFile('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger], r));
    const args = ['-F', '/dev/null', '-T', '-p', String(ship('s1').sshPort), '-i', stranger, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', 'ship@127.0.0.1', 'starphleet status --json'];
    const code = await new Promise<number>((resolve) => execFile('ssh', args, { timeout: 60_000 }, (err) => resolve(err ? Number(err.code) || 1 : 0)));
    assert.equal(code, 255);
    const audit = await cli(ship('s1').dataDir, 'audit', '-n', '500', '--json');
    const entries = JSON.stringify(JSON.parse(audit.stdout));
    assert.match(entries, /starphleet status; id|starphleet status --json; id/, 'the denied exec is in the audit');
  });

  test('a commit that changes only ships/ is not an HQ change: the ships run the admiral\'s sha and redeploy nothing', async () => {
    const admiralSha = hq.commit({ 'NOTES.md': 'an HQ change that redeploys nothing\n' }, 'notes');
    for (const n of NAMES) await waitFor(() => ship(n).output().includes(`-> ${admiralSha.slice(0, 7)}`), `${n} sees ${admiralSha.slice(0, 7)}`, 60_000, 250);
    // The ships write back the new HQ sha they run: those commits change only ships/. The three push at once, so a
    // ship's line may say how many races it lost first ("written back after 1 lost race(s) (hq ...").
    const wroteBack = (n: string): RegExp => new RegExp(`ships/${n}: written back(?: after \\d+ lost race\\(s\\))? \\(hq ${admiralSha.slice(0, 7)}`);
    await waitFor(
      () => NAMES.every((n) => hq.entry(n).hq === admiralSha && wroteBack(n).test(ship(n).output())),
      () => `entries report the admiral sha\n${NAMES.map((n) => `${n}: entry hq ${String(hq.entry(n).hq)}\n${ship(n).output().split('\n').filter((l) => /written back|write-back/.test(l)).slice(-4).join('\n')}`).join('\n')}`,
      60_000,
      250,
    );
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
    // Asked until s2 answers: on a starved machine (CI) one SSH handshake can outlast the fan-out's 15 s connect timeout.
    let st = { code: -1, stdout: '', stderr: '' };
    await waitFor(async () => {
      st = await cli(ship('s1').dataDir, 'phleet', 'status');
      return /^s2 +web +serving/m.test(st.stdout);
    }, () => `s2 in phleet status:\n${st.stdout}${st.stderr}`, 180_000, 1000);
    assert.equal(st.code, 1, 'a ship was unreachable');
    assert.match(st.stdout, /^s3: unreachable: /m, st.stdout);
    await start('s3');
    await waitFor(() => serves('s3', 'second version'), 's3 serves v2 after its restart', 300_000, 500);
    await waitFor(() => (hq.entry('s3').services as Record<string, { state: string; sha: string }>).web?.state === 'serving', 's3 entry serving', 120_000, 500);
    assert.equal(hq.merges(), 0);
  });
});

describe('phleet operations of user ship (gate)', () => {
  test('only the three forms pass, rebuilt from checked words', () => {
    assert.deepEqual(phleetExec('starphleet status --json'), { allow: true, serve: { kind: 'exec', command: 'starphleet status --json' } });
    // logs and redeploy need an admiral's proof (phleet-proof-units.test.ts has those forms).
    assert.deepEqual(phleetExec('starphleet  logs web -f --proof abcdefghijklmnop'), { allow: true, serve: { kind: 'exec', command: 'starphleet logs web -f --proof abcdefghijklmnop' } });
    for (const bad of ['starphleet status', 'starphleet status --json x', 'starphleet logs web -f', 'starphleet redeploy a.b', 'starphleet logs $(id)', 'starphleet logs web -f -f', 'starphleet logs web\nid', 'starphleet logs\tweb', 'starphleet redeploy -x', 'starphleet run web id', 'starphleet phleet status', '/usr/bin/starphleet status --json', 'starphleet logs web;id', 'starphleet logs `id`']) {
      assert.equal(phleetExec(bad), null, bad);
    }
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
