import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataDirTag } from '../../../src/agent/sandbox/net-names.js';
import { listInstances } from '../../../src/state/instances.js';
import { openDb } from '../../../src/state/db.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli, httpGet, statusJson, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * A real ship run as root, ordering a hostile service (test/fixtures/hostile-app) whose build script and instance
 * attack the ship, next to an innocent one; plus services that hog memory, fork-bomb, and carry credentials in
 * their URL.
 */
const root = tmpDir('sp-hostile-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const repo = (name: string): string => join(root, 'repos', name);
let ship: ShipProcess;
let db: Server;
const buildUids: string[] = [];
let scanning = true;
const DEPLOY_MS = 180_000;

type Probe = { uid: number; statusUid: string; capEff: string; capBnd: string; noNewPrivs: string; reads: Record<string, string>; remount: number; writeUsr: string; signalShip: string };

function probePaths(): string[] {
  return [join(dataDir, 'host_keys'), join(dataDir, 'state.db'), join(dataDir, 'hq'), join(dataDir, 'hq', 'orders'), '/root/.ssh', '/etc/shadow', join(dataDir, 'services', 'other', 'current', 'index.html'), join(dataDir, 'services', 'other'), join(dataDir, 'configs')];
}

function checkProbe(p: Probe, where: string): void {
  for (const [path, r] of Object.entries(p.reads)) assert.notEqual(r, 'READ', `${where} read ${path}`);
  assert.notEqual(p.remount, 0, `${where} remounted /usr read-write`);
  assert.notEqual(p.writeUsr, 'WROTE', `${where} wrote into /usr`);
  assert.ok(['ESRCH', 'EPERM'].includes(p.signalShip), `${where} signalled the ship: ${p.signalShip}`);
  assert.notEqual(p.uid, 0, `${where} runs as uid 0`);
  assert.ok(p.statusUid.split(/\s+/).every((u) => u !== '0'), `${where} Uid: ${p.statusUid}`);
  assert.match(p.capEff, /^0+$/, `${where} CapEff`);
  assert.match(p.capBnd, /^0+$/, `${where} CapBnd`);
  assert.equal(p.noNewPrivs, '1');
}

/** From the ship's side: the Uid line of every process running the hostile build step, while it runs. */
async function scanBuildProcesses(): Promise<void> {
  while (scanning) {
    for (const n of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
      try {
        if (!readFileSync(`/proc/${n}/cmdline`, 'utf8').includes('probe.js\0build')) continue;
        buildUids.push(/^Uid:\s*(.*)$/m.exec(readFileSync(`/proc/${n}/status`, 'utf8'))?.[1] ?? '?');
      } catch {
        // Gone meanwhile.
      }
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

before(async () => {
  fixtureRepo('hostile-app', repo('hostile'));
  fixtureRepo('static-site', repo('other'));
  db = createServer((c) => c.end('hello from the ship')).listen(0, '127.0.0.1');
  await new Promise((r) => db.once('listening', r));
  const dbPort = (db.address() as { port: number }).port;
  initRepo(hq, {
    'other/orders': `autodeploy ${repo('other')}\n`,
    '.starphleet': `export STARPHLEET_WEBHOOK_SECRET=whsecret-1\nexport SHARED_FLAG=phleet-wide\nexport STARPHLEET_HOST_PORTS=${dbPort}\n`,
  });
  // A 10 s first crash backoff keeps the 'starting' status (which says why) in view long enough to read it.
  ship = await startShip({ headquarters: hq, dataDir, env: { STARPHLEET_CRASH_BASE: '10' } });
  void scanBuildProcesses();
  commit(hq, {
    'hostile/orders': `autodeploy ${repo('hostile')}\nexport PROBE_PATHS='${JSON.stringify(probePaths())}'\nexport SHIP_PID=${ship.child.pid}\n`,
    'hog/orders': `autodeploy ${repo('hostile')}\nexport STARPHLEET_MEMORY=96M\nexport BUILD_SLEEP_MS=0\n`,
    'bomb/orders': `autodeploy ${repo('hostile')}\nexport STARPHLEET_PIDS=64\nexport BUILD_SLEEP_MS=0\n`,
    'creds/orders': 'autodeploy http://user:s3cret@127.0.0.1:9/nothing.git\n',
  });
});

after(async () => {
  scanning = false;
  await ship?.stop();
  await killRecordedInstances(dataDir);
  db?.close();
});

async function serving(name: string): Promise<void> {
  await waitFor(async () => (await statusServices(dataDir)).find((s) => s.name === name && s.state === 'serving'), `${name} serving`, DEPLOY_MS, 500);
}

describe('a hostile service on a ship run as root', () => {
  test('its build script reads nothing of the ship, cannot remount /usr or signal the ship, and is not root (inside nor as the ship sees it)', async () => {
    assert.equal(process.getuid?.(), 0, 'the ship runs as root here, as in CI');
    await serving('hostile');
    // The build that serves: the newest build log (an earlier build may have failed for reasons of the host's).
    const logs = readdirSync(join(dataDir, 'logs', 'hostile')).filter((n) => n.startsWith('build-')).sort();
    const text = readFileSync(join(dataDir, 'logs', 'hostile', logs.at(-1) as string), 'utf8');
    const line = /^PROBE (.*)$/m.exec(text);
    assert.ok(line, text);
    checkProbe(JSON.parse(line[1] as string) as Probe, 'the build script');
    assert.ok(buildUids.length > 0, 'the build step was seen from the ship');
    for (const u of buildUids) assert.ok(u.split(/\s+/).every((x) => x !== '0'), `build process Uid as the ship sees it: ${u}`);
  });

  test('its instance does no better, and sees no ship settings in its env', async () => {
    const r = await httpGet(ship.httpPort, '/hostile/probe');
    assert.equal(r.status, 200, r.body);
    checkProbe(JSON.parse(r.body) as Probe, 'the instance');
    const env = JSON.parse((await httpGet(ship.httpPort, '/hostile/')).body).env as Record<string, string>;
    assert.equal(env.SHARED_FLAG, 'phleet-wide', 'other .starphleet names stay service env');
    assert.equal(env.STARPHLEET_WEBHOOK_SECRET, undefined);
    assert.ok(!JSON.stringify(env).includes('whsecret'));
  });

  test("its instance reaches a TCP service on the ship's loopback as ship.internal, on a port .starphleet allows", async () => {
    const port = (db.address() as { port: number }).port;
    const r = await httpGet(ship.httpPort, `/hostile/tcp?host=ship.internal&port=${port}`);
    assert.equal(r.body, 'tcp: hello from the ship');
  });

  test('changing a STARPHLEET_ setting in .starphleet redeploys nothing', async () => {
    const before = (await statusServices(dataDir)).find((s) => s.name === 'hostile')?.release;
    const sha = commit(hq, { '.starphleet': `export STARPHLEET_WEBHOOK_SECRET=whsecret-2\nexport SHARED_FLAG=phleet-wide\nexport STARPHLEET_HOST_PORTS=${(db.address() as { port: number }).port}\n` });
    await waitFor(async () => (await statusJson<{ ship: { headquarters: { sha: string } } }>(dataDir)).ship.headquarters.sha === sha, 'the ship to read the new HQ', 60_000, 500);
    await new Promise((r) => setTimeout(r, 3000));
    const now = await statusServices(dataDir);
    assert.equal(now.find((s) => s.name === 'hostile')?.release, before);
    assert.equal(now.find((s) => s.name === 'hostile')?.state, 'serving');
  });

  test('an instance over its STARPHLEET_MEMORY is killed and restarted, and status says why', async () => {
    await serving('hog');
    const first = (await statusServices(dataDir)).find((s) => s.name === 'hog');
    await httpGet(ship.httpPort, '/hog/alloc');
    await waitFor(async () => (await statusServices(dataDir)).find((s) => s.name === 'hog' && /memory/.test(s.message)), 'status to say the memory limit killed it', 60_000, 200);
    await serving('hog');
    assert.equal((await statusServices(dataDir)).find((s) => s.name === 'hog')?.release, first?.release, 'the same release serves again');
    assert.match(ship.output(), /hog: .*memory/);
  });

  test('a fork bomb stops at its STARPHLEET_PIDS while the ship keeps serving', async () => {
    await serving('bomb');
    // Services built from the same commit in the same second share a release id: the instance record names the cgroup.
    const state = openDb(join(dataDir, 'state.db'));
    const ids = listInstances(state).filter((r) => r.service === 'bomb').map((r) => r.id);
    state.close();
    const folder = `/sys/fs/cgroup/pids/starphleet-${dataDirTag(dataDir)}`;
    const rec = readdirSync(folder).filter((n) => ids.includes(n));
    assert.equal(rec.length, 1, 'one cgroup for the instance');
    const cg = join(folder, rec[0] as string);
    assert.equal(readFileSync(join(cg, 'pids.max'), 'utf8').trim(), '64');
    await httpGet(ship.httpPort, '/bomb/forkbomb');
    await waitFor(() => Number(/^max (\d+)/m.exec(readFileSync(join(cg, 'pids.events'), 'utf8'))?.[1] ?? 0) > 0, 'forks to be refused at the limit', 30_000);
    assert.ok(Number(readFileSync(join(cg, 'pids.current'), 'utf8')) <= 64);
    for (let i = 0; i < 5; i++) assert.equal((await httpGet(ship.httpPort, '/other/')).status, 200, 'another service keeps answering');
    assert.equal((await cli(dataDir, 'status', '--json')).code, 0, 'the ship keeps answering');
  });

  test('a repo URL with credentials never shows them: status, ship log, build log, audit', async () => {
    const row = await waitFor(async () => (await statusServices(dataDir)).find((s) => s.name === 'creds' && s.state === 'failed'), 'creds to fail its fetch', DEPLOY_MS, 500);
    const status = (await cli(dataDir, 'status', '--json')).stdout;
    assert.match(status, /http:\/\/\*\*\*@127\.0\.0\.1:9\/nothing\.git/);
    assert.ok(!status.includes('s3cret'), status);
    assert.ok(!row.message.includes('s3cret'));
    assert.ok(!ship.output().includes('s3cret'), 'ship log');
    const logs = await cli(dataDir, 'logs', 'creds');
    assert.ok(!`${logs.stdout}${logs.stderr}`.includes('s3cret'), 'starphleet logs');
    const credLogs = join(dataDir, 'logs', 'creds');
    for (const f of existsSync(credLogs) ? readdirSync(credLogs) : []) assert.ok(!readFileSync(join(dataDir, 'logs', 'creds', f), 'utf8').includes('s3cret'), f);
    assert.ok(!readFileSync(join(dataDir, 'state.db')).includes('s3cret'), 'state db (status and audit tables)');
  });

  test('the config layer and configs/<name>.json list env names, not values', () => {
    const cfg = JSON.parse(readFileSync(join(dataDir, 'configs', 'hostile.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(cfg.env, undefined);
    assert.ok((cfg.envNames as string[]).includes('SHARED_FLAG'));
    const current = readlinkSync(join(dataDir, 'services', 'hostile', 'current'));
    const layerCfg = readFileSync(join(dataDir, 'services', 'hostile', current, '.starphleet', 'release.json'), 'utf8');
    assert.ok(!layerCfg.includes('phleet-wide'), layerCfg);
    assert.ok(layerCfg.includes('SHARED_FLAG'));
  });
});
