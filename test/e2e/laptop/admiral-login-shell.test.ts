import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import pty from 'node-pty';
import { isSameProcess } from '../../../src/agent/runtime/proc.js';
import { openDb } from '../../../src/state/db.js';
import { listInstances, type InstanceRecord } from '../../../src/state/instances.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh, sshBase } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';

/**
 * `ssh -tt admiral@ship` as a person types it (the OpenSSH client on a terminal): the login shell greets, finds
 * `starphleet` on PATH although Debian's /etc/profile resets PATH, and is a real login shell. Then `starphleet stop
 * --all` ends the ship and its instances.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const dir = tmpDir('sp-login-');
const dataDir = join(dir, 'data');
const hq = join(dir, 'hq');
let key: TestKey;
let ship: ShipProcess;
let hqSha: string;

function cliAsync(args: readonly string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 400_000 }, (e, stdout, stderr) => {
      if (e && typeof e.code !== 'number') return reject(e);
      resolve({ status: e ? (e.code as number) : 0, stdout, stderr });
    });
  });
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0] ?? '');
  } catch {
    return false;
  }
}

function instances(): InstanceRecord[] {
  const db = openDb(join(dataDir, 'state.db'));
  try {
    return listInstances(db);
  } finally {
    db.close();
  }
}

before(async () => {
  key = makeKey(dir, 'admiral');
  fixtureRepo('node-app', join(dir, 'app'));
  hqSha = initRepo(hq, { 'authorized_keys/admiral': `${key.pub}\n`, 'app/orders': `autodeploy ${join(dir, 'app')}\n`, 'broken/orders': 'autodeploy\n' });
  ship = await startShip({ headquarters: hq, dataDir });
  await waitFor(() => instances().some((r) => r.service === 'app' && r.state === 'serving'), () => `app to serve\n${ship.output().slice(-3000)}`, 240_000);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe("admirals' shells", { timeout: 600_000 }, () => {
  test('ssh -tt: the greeting (ship, version, HQ sha, services, problems), then starphleet status in a login shell', async () => {
    const term = pty.spawn('ssh', [...sshBase(key.privatePath, ship.sshPort), '-tt', 'admiral@127.0.0.1'], {
      name: 'xterm',
      cols: 120,
      rows: 40,
      env: { ...process.env, TERM: 'xterm' } as Record<string, string>,
    });
    let out = '';
    term.onData((d) => (out += d));
    const exited = new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode)));
    const expect = (re: RegExp, what: string): Promise<unknown> => waitFor(() => re.test(out), () => `${what}; output so far: ${JSON.stringify(out.slice(-1500))}`, 60_000);
    await expect(/`starphleet --help` lists the commands\./, 'the greeting');
    const greeting = out.replace(/\r/g, '');
    assert.match(greeting, /^starphleet ship testship, starphleet 0\.1\.0 @ [0-9a-f]{7}$/m);
    assert.match(greeting, new RegExp(`^headquarters ${hq} at ${hqSha.slice(0, 7)}$`, 'm'));
    assert.match(greeting, /^ {2}app +serving +[0-9a-f]{7}/m);
    assert.match(greeting, /^problems \(1\):\n {2}broken\/orders:1: /m);
    // Markers are computed by the shell, so the echo of what was typed never matches them.
    term.write('starphleet status; echo "status-exit=$((40+$?))"\r');
    await expect(/status-exit=40/, 'starphleet status to run');
    assert.match(out, /SERVICE +MOUNT +STATE/);
    term.write('shopt -q login_shell && echo "login=$((1+1))"; echo "first=${PATH%%:*}="; echo "posix=$(shopt -qo posix && echo on || echo off)="\r');
    await expect(/posix=(on|off)=/, 'the shell to answer');
    assert.match(out, /login=2/);
    assert.match(out, new RegExp(`first=${join(dataDir, 'bin')}=`));
    assert.match(out, /posix=off=/);
    term.write('logout\r');
    assert.equal(await exited, 0);
  });

  test('a shell without a terminal finds starphleet too and does not greet', async () => {
    const script = join(dir, 'script.sh');
    writeFileSync(script, 'starphleet version\necho "path-first=${PATH%%:*}"\n');
    const r = await runSsh({ key: key.privatePath, port: ship.sshPort, args: [], options: ['-T'], stdin: script });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), `0.1.0\npath-first=${join(dataDir, 'bin')}\n`);
  });

  test('over ssh every command answers --help with usage and an example; update --help updates nothing', async () => {
    for (const c of ['status', 'logs', 'redeploy', 'audit', 'version', 'update']) {
      const r = await runSsh({ key: key.privatePath, port: ship.sshPort, args: [`starphleet ${c} --help`] });
      assert.equal(r.code, 0, `${c}: ${r.stderr}`);
      assert.match(r.stdout.toString(), new RegExp(`^usage: starphleet ${c}`, "i"), c);
      assert.match(r.stdout.toString(), /^examples:\n {2}\S/m, c);
    }
    assert.doesNotMatch(ship.output(), /checking .*STARPHLEET_REMOTE|running 0\.1\.0; checking/);
  });

  test('starphleet stop --all stops the ship and every instance of its data dir', async (t) => {
    const recs = instances();
    assert.ok(recs.length > 0);
    assert.ok(recs.every((r) => isSameProcess(r)));
    const started = Date.now();
    // Not spawnSync: this process must go on reading the ship's output (a full pipe blocks the ship) and reaping it.
    const r = await cliAsync(['stop', '--all', '--grace', '30', '--data', dataDir]);
    t.diagnostic(`stop --all took ${Math.round((Date.now() - started) / 1000)} s`);
    assert.equal(r.status, 0, `${r.stdout}\n${r.stderr}\n${ship.output().slice(-2000)}`);
    assert.match(r.stdout, new RegExp(`^ship \\(pid ${ship.child.pid}\\) stopped$`, 'm'));
    assert.match(r.stdout, /^stopped 1 instance: app \(pid \d+\)$/m);
    // The data plane outlives ships too: --all ends it.
    const plane = Number(/^data plane \(pid (\d+), \w+\) stopped$/m.exec(r.stdout)?.[1]);
    assert.ok(plane > 0, r.stdout);
    // Gone, or a zombie PID 1 has not reaped yet (it reaps slowly here): not running either way.
    assert.ok(!running(plane), `data plane pid ${plane} still runs`);
    await waitFor(() => ship.child.exitCode !== null, 'the ship to exit', 30_000);
    for (const rec of recs) assert.ok(!isSameProcess(rec), `instance ${rec.id} (pid ${rec.pid}) is gone`);
    assert.deepEqual(instances(), []);
    assert.ok(!existsSync(join(dataDir, 'ship.pid')) || readFileSync(join(dataDir, 'ship.pid'), 'utf8').trim() !== String(ship.child.pid));
    const again = await cliAsync(['stop', '--all', '--data', dataDir]);
    assert.equal(again.status, 0, again.stderr);
    assert.match(again.stdout, /no ship is running with data dir/);
    assert.match(again.stdout, /no instances were running/);
  });
});
