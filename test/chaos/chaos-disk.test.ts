import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, rmSync, statfsSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { fixtureRepo } from '../helpers/fixtures.js';
import { commit, initRepo } from '../helpers/git.js';
import { killRecordedInstances } from '../helpers/instances.js';
import { startShip, type ShipProcess } from '../helpers/ship.js';
import { tmpDir } from '../helpers/tmp.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { CLI_ARGS } from '../helpers/cli-entry.js';

/**
 * A full disk (#17): the ship's data dir is a small tmpfs (mounted by the test as root, as CI runs; elsewhere an
 * injected ENOSPC would be needed), filled up while a service serves. The next deploy fails cleanly: the old release
 * serves, the log and status say the disk is full, no temp file or half-written release is left, the state db is
 * intact; once there is room again the deploy goes through.
 */
const root = tmpDir('sp-chaos-disk-');
const dataDir = join(root, 'data');
mkdirSync(dataDir, { mode: 0o711 });
execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=96m,mode=0711', 'tmpfs', dataDir]);
let ship: ShipProcess | null = null;
after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
  execFileSync('umount', ['-l', dataDir]);
});

async function greeting(port: number): Promise<string | null> {
  const r = await fetch(`http://127.0.0.1:${port}/app/`).catch(() => null);
  return r && r.status === 200 ? ((await r.json()) as { greeting: string }).greeting : null;
}

/**
 * Fills the file system until ENOSPC, and again while the ship frees what it held (a write-back clone that met the
 * full disk removes its partial files: 11 blocks came free once between the fill and the check); returns the filler.
 */
async function fill(dir: string): Promise<string> {
  const file = join(dir, 'filler');
  for (let i = 0; i < 10; i++) {
    fillOnce(file);
    await sleep(200);
    if (statfsSync(dir).bavail === 0) break;
  }
  return file;
}

function fillOnce(file: string): void {
  const fd = openSync(file, 'a');
  const block = Buffer.alloc(1024 * 1024, 1);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOSPC') throw e;
  }
  const small = Buffer.alloc(4096, 1);
  try {
    for (;;) writeSync(fd, small);
  } catch {
    // Full to the last block.
  } finally {
    closeSync(fd);
  }
}

describe('a full disk under the data dir', { timeout: 600_000 }, () => {
  test('a deploy on a full disk fails cleanly, the old release serves, and it deploys once there is room', async () => {
    const app = join(root, 'app');
    const hq = join(root, 'hq');
    fixtureRepo('stream-app', app);
    commit(app, { '.env': 'GREETING=one\n' });
    initRepo(hq, { 'app/orders': `autodeploy ${app}\n` });
    ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RUNTIME: 'process', STARPHLEET_RETRY_BASE: '2', STARPHLEET_RETRY_MAX: '4' } });
    const port = ship.httpPort;
    await waitFor(async () => (await greeting(port)) === 'one', () => `one to serve\n${ship?.output().slice(-3000)}`, 300_000);
    const filler = await fill(dataDir);
    assert.equal(statfsSync(dataDir).bavail, 0, 'the disk is full');
    const since = ship.output().length;
    commit(app, { '.env': 'GREETING=two\n', 'big.txt': 'x'.repeat(256 * 1024) });
    const m = await ship.waitForLog(/app: (deploy of [0-9a-f]{7} failed|deploy crashed): .*(ENOSPC|No space left on device|SQLITE_FULL|disk is full).*/, 180_000, since);
    assert.match(m[0], /the disk of the data dir .* is full: free space there|SQLITE_FULL|disk is full/, m[0]);
    assert.equal(await greeting(port), 'one', 'the old release serves');
    // The state db cannot take the failure while the disk is full (SQLITE_FULL, logged as such): status shows it once
    // there is room, and the ship never goes down over it.
    // Which write meets the full db first depends on timing: the deploy record, the backoff or the status.
    assert.match(ship.output().slice(since), /(writing its status|recording the backoff failed|deploy crashed: SqliteError).*database or disk is full|SQLITE_FULL/);
    // No half-written release and no temp file of a write-then-rename is left.
    const releases = join(dataDir, 'services/app/releases');
    const names = readdirSync(releases);
    // Release dirs only: <id>.json is a release's config, <id>.released its release-phase mark (deploy/reuse.ts).
    for (const n of names.filter((x) => statSync(join(releases, x)).isDirectory())) assert.ok(names.includes(`${n}.json`), `release dir ${n} has its config`);
    for (const dir of ['layers', 'configs', 'services/app/releases']) assert.deepEqual(readdirSync(join(dataDir, dir)).filter((x) => x.startsWith('.tmp-')), [], `no temp file in ${dir}`);
    assert.deepEqual(existsSync(join(dataDir, 'tmp')) ? readdirSync(join(dataDir, 'tmp')) : [], [], 'no build dir left in tmp/');
    const db = new Database(join(dataDir, 'state.db'), { readonly: true });
    try {
      assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
    } finally {
      db.close();
    }
    assert.ok(ship.child.exitCode === null, 'the ship runs on');
    // Room again: the retry (backoff 2-4 s) goes through.
    rmSync(filler);
    await waitFor(async () => (await greeting(port)) === 'two', () => `two to serve once there is room\n${ship?.output().slice(-3000)}`, 300_000);
    const statusOf = (): string => {
      try {
        return execFileSync(process.execPath, [...CLI_ARGS, 'status', '--json', '--data', dataDir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (e) {
        throw new Error(`${(e as Error).message}\n--- ship ---\n${ship?.output().slice(-4000)}`);
      }
    };
    const s = JSON.parse(statusOf()) as { services: { name: string; state: string }[]; ship: { dataDir: { bytes: number } | null } };
    assert.equal(s.services.find((x) => x.name === 'app')?.state, 'serving');
    assert.ok(s.ship.dataDir === null || s.ship.dataDir.bytes > 0);
  });
});
