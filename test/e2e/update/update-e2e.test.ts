import assert from 'node:assert/strict';
import { existsSync, readFileSync, readlinkSync } from 'node:fs';
import { get } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { openDb } from '../../../src/state/db.js';
import { listInstances } from '../../../src/state/instances.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { killRecordedInstances, alive } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { notifySocket, type NotifySocket } from '../../helpers/notify-socket.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh, type SshResult } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { pacedLoops } from '../../helpers/paced.js';
import { shipPidOf, updateRemote } from '../../helpers/update-remote.js';

/**
 * `ssh update@ship` end to end: the ship runs from this working tree (tsx); STARPHLEET_REMOTE is a bare repo made from
 * a copy of the same tree. Dependencies: the commits below keep package-lock.json, so the update copies the running
 * node_modules instead of `npm ci` (see update/build.ts); the build (tsc), the version check and the hand-over are real.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const root = tmpDir('sp-update-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
const proj = join(root, 'proj');
const remote = join(root, 'remote.git');
let key: TestKey;
let ship: ShipProcess;
// As under systemd (Type=notify): the ship says READY=1; the new ship of a hand-over sends its MAINPID.
let notify: NotifySocket;

function servingPids(): number[] {
  const db = openDb(join(dataDir, 'state.db'));
  try {
    return listInstances(db)
      .filter((r) => r.state === 'serving')
      .map((r) => r.pid)
      .sort();
  } finally {
    db.close();
  }
}

const shipPid = (): number => shipPidOf(dataDir);


/** Commits to the project copy and pushes it to the bare remote; returns the sha. */
function release(files: Record<string, string | null>, message: string): string {
  const sha = commit(proj, files, message);
  gitIn(proj, 'push', '-q', remote, 'HEAD:master');
  return sha;
}

function update(args: string[] = []): Promise<SshResult> {
  return runSsh({ key: key.privatePath, port: ship.sshPort, user: 'update', args, options: ['-T'], timeoutMs: 600_000 });
}

function admiral(cmd: string): Promise<SshResult> {
  return runSsh({ key: key.privatePath, port: ship.sshPort, args: [cmd] });
}

/** One GET on a fresh connection (as curl would): a refused connection, a reset or a 5xx is a failure. */
function probe(port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path: '/app/', agent: false, timeout: 10_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 500 ? `HTTP ${res.statusCode}` : null));
      res.on('error', (e) => resolve(`response: ${e.message}`));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`${e.code ?? ''} ${e.message}`));
  });
}

/** Clients sending requests (paced: helpers/paced.ts) until stop(); what they saw. */
function clients(port: number, n = 2): { stop(): Promise<{ ok: number; failures: string[] }> } {
  let ok = 0;
  const failures: string[] = [];
  const loops = pacedLoops(n, async () => {
    const f = await probe(port);
    if (f) failures.push(f);
    else ok++;
  });
  return {
    async stop() {
      await loops.stop();
      return { ok, failures };
    },
  };
}

before(async () => {
  key = makeKey(root, 'admiral');
  fixtureRepo('node-app', app);
  initRepo(hq, { 'authorized_keys/admiral': `${key.pub}\n`, 'app/orders': `autodeploy ${app}\n` });
  updateRemote(root);
  notify = await notifySocket();
  ship = await startShip({
    headquarters: hq,
    dataDir,
    pulse: 0.5,
    env: { STARPHLEET_REMOTE: `${remote}#master`, STARPHLEET_HANDOVER_GRACE: '20', NOTIFY_SOCKET: notify.path },
  });
  await waitFor(async () => (await probe(ship.httpPort)) === null && servingPids().length === 1, () => `app to serve\n${ship.output().slice(-3000)}`, 180_000);
});

after(async () => {
  // The ship that took over is not the helper's child: stop it by the pid it holds the data dir with.
  const pid = existsSync(join(dataDir, 'ship.pid')) ? shipPid() : 0;
  if (pid && pid !== ship?.child.pid && alive(pid)) {
    process.kill(pid, 'SIGTERM');
    await waitFor(() => !alive(pid), 'the new ship to stop', 20_000).catch(() => process.kill(pid, 'SIGKILL'));
  }
  await ship?.stop();
  await killRecordedInstances(dataDir);
  await notify?.close();
});

describe('ssh update@ship', { timeout: 900_000 }, () => {
  test('under systemd the ship notifies READY=1 once it serves, and stays out of MAINPID (the launcher is main)', async () => {
    await waitFor(() => notify.messages().some((m) => m.READY === '1'), () => `READY=1 on the notify socket: ${JSON.stringify(notify.messages())}`, 30_000);
    assert.ok(notify.messages().every((m) => m.MAINPID === undefined), JSON.stringify(notify.messages()));
  });

  test('a commit that breaks the build: non-zero exit with the build error; the old ship keeps serving', async () => {
    release({ 'src/broken-on-purpose.ts': "export const n: number = 'not a number';\n" }, 'break the build');
    const pids = servingPids();
    const r = await update();
    const all = r.stdout.toString() + r.stderr;
    assert.notEqual(r.code, 0, all);
    assert.match(all, /npm run build failed/);
    assert.match(all, /broken-on-purpose\.ts.*not assignable to type 'number'/);
    assert.match(r.stderr, /still running 0\.1\.0/);
    assert.equal(ship.child.exitCode, null, 'the old ship is still running');
    assert.equal(shipPid(), ship.child.pid);
    assert.equal(await probe(ship.httpPort), null);
    assert.deepEqual(servingPids(), pids);
    const v = await admiral('starphleet version');
    assert.equal(v.stdout.toString().trim(), '0.1.0', v.stderr);
  });

  test('a new version: update exits 0 and hands over; instances keep their PIDs; a busy client sees no failure; a second update is refused', async (t) => {
    const pkg = JSON.parse(readFileSync(join(proj, 'package.json'), 'utf8')) as { version: string };
    pkg.version = '0.1.1';
    const sha = release({ 'src/broken-on-purpose.ts': null, 'package.json': `${JSON.stringify(pkg, null, 2)}\n` }, 'version 0.1.1');
    const pids = servingPids();
    const oldShip = ship.child.pid as number;
    const load = clients(ship.httpPort);
    // Stopped whatever happens: clients left running keep this file's process alive for ever.
    let seen: Awaited<ReturnType<typeof load.stop>>;
    const since = ship.output().length;
    let newShip = 0;
    try {
      const first = update();
      // The second one starts while the first is surely running (its session is logged), in either order of arrival.
      await waitFor(() => /ssh update .*: update/.test(ship.output().slice(since)), 'the first update to start', 30_000);
      const second = update(['update']);
      const results = await Promise.all([first, second]);
      const refused = results.filter((r) => r.code !== 0);
      const done = results.filter((r) => r.code === 0);
      const show = results.map((r) => `exit ${r.code}\n${r.stdout.toString()}${r.stderr}`).join('\n---\n');
      assert.equal(refused.length, 1, show);
      assert.match(refused[0]?.stderr ?? '', /an update is already in progress/);
      assert.equal(done.length, 1, show);
      // The same lock file as the running version: its node_modules and compiled output seed the build (build.ts).
      assert.match(done[0]?.stdout.toString() ?? '', /dependencies unchanged: copying node_modules[\s\S]*compiler unchanged: tsc starts from the running version's output/, show);
      const lines = (done[0]?.stdout.toString() ?? '').trim().split('\n');
      assert.match(lines.at(-1) ?? '', new RegExp(`^updated 0\\.1\\.0( @ [0-9a-f]{7})? -> 0\\.1\\.1 @ ${sha.slice(0, 7)}$`), show);

      // The old process finishes and exits; the new one holds the data dir; the client keeps going meanwhile.
      await waitFor(() => ship.child.exitCode !== null, () => `the old ship to exit\n${ship.output().slice(-3000)}`, 60_000);
      assert.equal(ship.child.exitCode, 0);
      newShip = shipPid();
      assert.notEqual(newShip, oldShip);
      assert.ok(alive(newShip));
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      seen = await load.stop();
    }
    assert.deepEqual(seen.failures, [], `${seen.ok} requests ok`);
    assert.ok(seen.ok > 20, `only ${seen.ok} requests went through`);
    t.diagnostic(`${seen.ok} requests through the front door during the update, none failed`);
    t.diagnostic(ship.output().slice(since).split('\n').filter((l) => /hand|takeover|taken over|adopted|front door|ssh listening|updated|starphleet 0/.test(l)).join('\n'));

    assert.deepEqual(servingPids(), pids, 'instances were adopted, not restarted');
    for (const pid of pids) assert.ok(alive(pid));
    const v = await admiral('starphleet version');
    assert.equal(v.stdout.toString().trim(), '0.1.1', v.stderr);
    assert.equal(await probe(ship.httpPort), null);

    // Versions side by side: current is the new one, previous the tree the ship ran from before; the launcher is there.
    assert.equal(readlinkSync(join(dataDir, 'versions', 'current')), join(dataDir, 'versions', sha));
    // systemd would now track the new ship: it sent MAINPID=<its pid> (with READY=1) before the old one exited.
    const mainPid = notify.messages().find((m) => m.MAINPID !== undefined);
    assert.deepEqual(mainPid && { MAINPID: mainPid.MAINPID, READY: mainPid.READY }, { MAINPID: String(newShip), READY: '1' }, JSON.stringify(notify.messages()));
    assert.equal(readlinkSync(join(dataDir, 'versions', 'previous')), ROOT.replace(/\/$/, ''));
    assert.ok(existsSync(join(dataDir, 'bin', 'ship')));
  });

  test('nothing newer: already up to date, exit 0, the ship keeps running', async () => {
    const before = shipPid();
    const r = await update(['anything']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /already up to date \(0\.1\.1 @ [0-9a-f]{7}\)/);
    assert.equal(shipPid(), before);
    assert.ok(alive(before));
  });
});
