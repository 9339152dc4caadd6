import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { overview } from '../../../src/dashboard/page.js';
import { readView } from '../../../src/dashboard/view.js';
import type { StatusJson } from '../../../src/agent/status-json.js';
import { openDb } from '../../../src/state/db.js';
import { listInstances, type InstanceRecord } from '../../../src/state/instances.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli, httpGet, servedBody, statusJson, statusServices, type ServiceRow } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * Apps nobody here wrote the way they come (#31), ordered from a real HQ on a real ship, built by the real buildpacks
 * in the real sandbox: each deploys, or fails saying exactly why. And a repo that tries to set the ship's limits (#27).
 */
const root = tmpDir('sp-e2e-wild-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const repo = (name: string): string => join(root, 'repos', name);
let ship: ShipProcess;
let sink: Server;
const events: Record<string, unknown>[] = [];

// Network installs (npm, yarn and pnpm through corepack, tsc) on a shared 2-core machine.
const DEPLOY_MS = 600_000;

const answers = (path: string, re: RegExp, what: string): Promise<string> => servedBody(ship.httpPort, path, re, what, DEPLOY_MS, 500);

async function row(name: string, ok: (r: ServiceRow) => boolean, what: string): Promise<ServiceRow> {
  return waitFor(async () => (await statusServices(dataDir)).find((r) => r.name === name && ok(r)), what, DEPLOY_MS, 500);
}

function serving(service: string): InstanceRecord[] {
  const db = openDb(join(dataDir, 'state.db'));
  try {
    return listInstances(db).filter((r) => r.service === service && r.state === 'serving');
  } finally {
    db.close();
  }
}

/** The dashboard's overview as it is served now (GET /api/overview), from the ship's own state (its view and its renderer). */
function dashboard(): string {
  const db = openDb(join(dataDir, 'state.db'));
  try {
    return overview(readView(db, 'testship', hq, 'test')).html;
  } finally {
    db.close();
  }
}

/** A cgroup v1 file of the controller, for the cgroup a process is in (read from the host). */
function cgroupFile(pid: number, controller: string, file: string): string {
  const line = readFileSync(`/proc/${pid}/cgroup`, 'utf8')
    .split('\n')
    .find((l) => l.split(':')[1]?.split(',').includes(controller));
  assert.ok(line, `pid ${pid} has no ${controller} cgroup`);
  return readFileSync(join('/sys/fs/cgroup', controller, line.split(':')[2] ?? '', file), 'utf8').trim();
}

/** The command lines of every process in an instance's cgroup (the launcher is in it before anything starts). */
function processesOf(pid: number): string[] {
  return cgroupFile(pid, 'pids', 'cgroup.procs')
    .split('\n')
    .filter((p) => p !== '')
    .map((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        return '';
      }
    });
}

before(async () => {
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      events.push(JSON.parse(body) as Record<string, unknown>);
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  const sinkPort = (sink.address() as AddressInfo).port;
  for (const f of ['ts-app', 'yarn-app', 'pnpm-app', 'worker-only', 'multi-buildpack', 'dockerfile-only', 'engines-unmet', 'go-godir', 'crash-with-message', 'custom-app']) fixtureRepo(f, repo(f));
  fixtureRepo('node-app', repo('limits'));
  commit(repo('limits'), { '.env': `${readFileSync(repo('limits') + '/.env', 'utf8')}STARPHLEET_MEMORY=1T\nSTARPHLEET_CPUS=1024\nSTARPHLEET_PIDS=4194304\n` });
  fixtureRepo('custom-buildpack', repo('buildpack'));
  commit(repo('custom-app'), { '.env': `BUILDPACK_URL=${repo('buildpack')}\n` });
  initRepo(hq, {
    '.starphleet': `export STARPHLEET_NOTIFY=http://127.0.0.1:${sinkPort}/events\n`,
    'ts/orders': `autodeploy ${repo('ts-app')}\n`,
    'yarn/orders': `autodeploy ${repo('yarn-app')}\n`,
    'pnpm/orders': `autodeploy ${repo('pnpm-app')}\n`,
    'worker/orders': `autodeploy ${repo('worker-only')}\n`,
    'multi/orders': `autodeploy ${repo('multi-buildpack')}\n`,
    'docker/orders': `autodeploy ${repo('dockerfile-only')}\n`,
    'engines/orders': `autodeploy ${repo('engines-unmet')}\n`,
    'go/orders': `autodeploy ${repo('go-godir')}\n`,
    'crashy/orders': `autodeploy ${repo('crash-with-message')}\nexport HEALTHCHECK_TIMEOUT=20\n`,
    'limits/orders': `autodeploy ${repo('limits')}\nexport STARPHLEET_MEMORY=300M\nexport STARPHLEET_CPUS=0.5\nexport STARPHLEET_PIDS=200\n`,
    'bpath/orders': `autodeploy ${repo('custom-app')}\n`,
  });
  // The registry here serves no signatures: corepack checks none on this test ship (a ship keeps the check by default).
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RETRY_BASE: '600', COREPACK_INTEGRITY_KEYS: '0' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
  await new Promise<void>((r) => sink?.close(() => r()));
});

describe('apps from the wild on a real ship', () => {
  test('TypeScript, yarn, pnpm, .buildpacks and Go (.godir) apps serve at their mounts', async () => {
    const ts = await answers('/ts/a', /ts-app fixture says hello from \/a/, 'the TypeScript app');
    assert.match(ts, /NODE_ENV=production/);
    assert.match(ts, /typescript: absent/);
    assert.match(ts, /heroku-cleanup ran; typescript pruned/);
    assert.match(await answers('/yarn/', /yarn-app fixture says hello/, 'the yarn app'), /is-number: absent/);
    assert.match(await answers('/pnpm/', /pnpm-app fixture says hello/, 'the pnpm app'), /is-number: absent/);
    assert.match(await answers('/multi/', /multi-buildpack fixture \(python\) serves: asset built by the node buildpack/, 'the two-buildpack app'), /NODE_ENV=production/);
    await answers('/go/x', /go-godir fixture says hello from \/x/, 'the Go app');
  });

  test('after a node build: no devDependency in node_modules, no npm process in the instance; a new commit reuses the cache', async () => {
    const current = join(dataDir, 'services', 'ts', 'current');
    assert.deepEqual(readdirSync(join(current, 'node_modules')).filter((n) => !n.startsWith('.')), ['ms']);
    const [web] = serving('ts');
    assert.ok(web, 'a serving ts instance');
    const procs = processesOf(web.pid);
    assert.ok(procs.some((c) => /node dist\/server\.js/.test(c)), procs.join('\n'));
    assert.ok(!procs.some((c) => /(^|\/)npm( |$)/.test(c)), `an npm process runs beside the app:\n${procs.join('\n')}`);
    const before = (await statusServices(dataDir)).find((r) => r.name === 'ts')?.release;
    const sha = commit(repo('ts-app'), { 'README.md': 'a new commit, same dependencies\n' });
    const after = await row('ts', (r) => r.sha === sha && r.state === 'serving' && r.release !== before, 'the new ts release serving');
    const log = readFileSync(join(dataDir, 'logs', 'ts', `build-${after.release}.log`), 'utf8');
    assert.match(log, /-----> node_modules restored from the build cache/);
    assert.match(await answers('/ts/', /ts-app fixture/, 'the new ts release'), /typescript: absent/);
  });

  test('a worker-only Procfile runs its worker, unrouted, with no `unpublished` in its orders', async () => {
    const w = await row('worker', (r) => r.state === 'serving', 'the worker serving');
    assert.match(w.message, /^no web process: not routed/);
    assert.equal(w.url, null);
    assert.equal((await httpGet(ship.httpPort, '/worker/')).status, 404);
    const status = await statusJson<StatusJson>(dataDir);
    assert.deepEqual(status.services.find((s) => s.name === 'worker')?.processes, { worker: 1 });
    const logFile = join(dataDir, 'logs', 'worker', `instance-${w.release}-worker.1.log`);
    await waitFor(() => existsSync(logFile) && /worker-only fixture tick \d+/.test(readFileSync(logFile, 'utf8')), 'worker ticks in its log', 30_000);
  });

  test('a Dockerfile-only app and an unmeetable engines.node fail saying why', async () => {
    const docker = await row('docker', (r) => r.state === 'failed', 'the Dockerfile app failing');
    assert.match(docker.message, /build failed: Dockerfile builds are not supported on this ship: add a Procfile or set BUILDPACK_URL/);
    const engines = await row('engines', (r) => r.state === 'failed', 'the engines app failing');
    assert.ok(engines.message.includes(`engines.node in package.json asks for ">=99": this ship has node ${process.version} only`), engines.message);
  });

  test('a start that dies shows its exit code and last lines in status, releases, the notification and the dashboard', async () => {
    const crashy = await row('crashy', (r) => r.state === 'failed', 'the crashing app failing');
    for (const [where, text] of [
      ['status', crashy.message],
      ['releases', (await cli(dataDir, 'releases', 'crashy')).stdout],
      ['notification', String(await waitFor(() => events.find((e) => e.service === 'crashy' && e.event === 'deploy.failed')?.reason, 'the deploy.failed event', 60_000))],
      ['dashboard', dashboard()],
    ] as const) {
      assert.match(text, /exit code 3/, where);
      assert.match(text, /Error: DATABASE_URL is not set/, where);
      assert.match(text, /crash-with-message fixture starting/, where);
    }
  });

  test("a repo .env setting every limit to the maximum runs with HQ's limits (its cgroup), and its build log says so", async () => {
    await answers('/limits/', /node-app fixture/, 'the limits app');
    const [web] = serving('limits');
    assert.ok(web);
    assert.equal(cgroupFile(web.pid, 'memory', 'memory.limit_in_bytes'), String(300 * 1024 ** 2));
    assert.equal(cgroupFile(web.pid, 'pids', 'pids.max'), '200');
    assert.equal(cgroupFile(web.pid, 'cpu', 'cpu.cfs_quota_us'), '50000');
    const release = (await statusServices(dataDir)).find((r) => r.name === 'limits')?.release;
    const log = readFileSync(join(dataDir, 'logs', 'limits', `build-${release}.log`), 'utf8');
    assert.match(log, /warning: \.env sets STARPHLEET_MEMORY, STARPHLEET_CPUS, STARPHLEET_PIDS: ignored/);
  });

  test('a repo BUILDPACK_URL naming a path on the ship is refused', async () => {
    const b = await row('bpath', (r) => r.state === 'failed', 'the path buildpack refused');
    assert.match(b.message, /BUILDPACK_URL \(the repo's \.env\): buildpack .* refused: a path on the ship/);
    assert.equal(existsSync(join(dataDir, 'repos', 'public')), false);
  });
});
