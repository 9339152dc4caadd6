import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isSameProcess } from '../../../src/agent/runtime/proc.js';
import { openDb } from '../../../src/state/db.js';
import { listInstances, type InstanceRecord } from '../../../src/state/instances.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { httpGet, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** A Procfile app that reports what its sandbox lets it see and do. */
const PROBE = `
const http = require('node:http');
const fs = require('node:fs');
function attempt(fn) { try { fn(); return true; } catch { return false; } }
http.createServer((req, res) => {
  const writeRelease = attempt(() => fs.writeFileSync(__dirname + '/written', 'x'));
  const writeData = attempt(() => fs.writeFileSync('/var/data/probe.txt', 'written by the probe'));
  const readData = attempt(() => fs.readFileSync('/var/data/from-host.txt', 'utf8'));
  const cmdlines = fs.readdirSync('/proc').filter((n) => /^\\d+$/.test(n)).map((p) => { try { return fs.readFileSync('/proc/' + p + '/cmdline', 'utf8').replace(/\\0/g, ' '); } catch { return ''; } });
  res.setHeader('content-type', 'application/json');
  res.end(JSON.stringify({ writeRelease, writeData, readData, cmdlines }));
}).listen(Number(process.env.PORT));
`;

/** node-app whose build script takes a while: time to kill the ship in the middle of it. */
const SLOW_BUILD = `require('node:fs').writeFileSync('built.txt', 'built slowly\\n');
console.log('slow build: sleeping');
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 6000);
`;

const root = tmpDir('sp-e2e-restart-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const appRepo = join(root, 'app');
const probeRepo = join(root, 'probe');
let ship: ShipProcess;

function instances(): InstanceRecord[] {
  const db = openDb(join(dataDir, 'state.db'));
  try {
    return listInstances(db);
  } finally {
    db.close();
  }
}

function serving(service: string): InstanceRecord | undefined {
  return instances().find((r) => r.service === service && r.state === 'serving');
}

function buildLogs(service: string, sha: string): string[] {
  return readdirSync(join(dataDir, 'logs', service)).filter((f) => f.startsWith('build-') && f.includes(sha.slice(0, 7)));
}

before(async () => {
  fixtureRepo('node-app', appRepo);
  initRepo(probeRepo, { Procfile: 'web: node probe.js\n', 'probe.js': PROBE });
  initRepo(hq, { 'app/orders': `autodeploy ${appRepo}\n`, 'probe/orders': `autodeploy ${probeRepo}\n` });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RUNTIME: 'bwrap' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe('bubblewrap instances and ship restarts', () => {
  test('with bubblewrap an instance cannot write its release dir nor see the ship, and reads and writes /var/data', async () => {
    await ship.waitForLog(/instances run with the bwrap runtime/);
    const { writeFileSync } = await import('node:fs');
    await waitFor(async () => (await httpGet(ship.httpPort, '/probe/')).status === 200, 'probe to serve', 120_000, 250);
    // /var/data is the service's own volume: <data>/volumes/<name>/data on the host.
    writeFileSync(join(dataDir, 'volumes', 'probe', 'data', 'from-host.txt'), 'hello from the host');
    const body = (await httpGet(ship.httpPort, '/probe/')).body;
    const probe = JSON.parse(body) as { writeRelease: boolean; writeData: boolean; readData: boolean; cmdlines: string[] };
    assert.equal(probe.writeRelease, false, 'release dir is read-only');
    assert.equal(probe.writeData, true);
    assert.equal(probe.readData, true);
    assert.equal(readFileSync(join(dataDir, 'volumes', 'probe', 'data', 'probe.txt'), 'utf8'), 'written by the probe');
    assert.ok(!probe.cmdlines.some((c) => /cli\.[jt]s ship/.test(c)), `the ship is invisible: ${JSON.stringify(probe.cmdlines)}`);
    assert.ok(probe.cmdlines.length <= 6, `only the sandbox's own processes: ${JSON.stringify(probe.cmdlines)}`);
  });

  test('SIGKILL in the middle of a deploy: the next ship adopts what served, restarts what died, retries the deploy', async () => {
    await waitFor(async () => (await httpGet(ship.httpPort, '/app/')).status === 200, 'app v1', 120_000, 250);
    const v1sha = readFileSync(join(appRepo, '.git', 'refs', 'heads', 'master'), 'utf8').trim();
    const appBefore = serving('app');
    const probeBefore = serving('probe');
    assert.ok(appBefore && probeBefore);

    const since = ship.output().length;
    const v2sha = commit(appRepo, { 'build.js': SLOW_BUILD });
    await ship.waitForLog(/app: deploying .* at [0-9a-f]{7}/, 30_000, since);
    await waitFor(() => buildLogs('app', v2sha).length === 1 && readFileSync(join(dataDir, 'logs', 'app', buildLogs('app', v2sha)[0] as string), 'utf8').includes('slow build: sleeping'), 'the slow build to be running', 60_000);
    await ship.kill();

    assert.ok(isSameProcess(appBefore), 'the serving instance outlived the ship');
    // One instance dies while no ship watches: the next ship must start its release again, without a rebuild.
    process.kill(-probeBefore.pid, 'SIGKILL');
    await waitFor(() => !isSameProcess(probeBefore), 'probe instance gone');
    const probeBuilds = readdirSync(join(dataDir, 'logs', 'probe')).filter((f) => f.startsWith('build-')).length;

    ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RUNTIME: 'bwrap' } });
    await ship.waitForLog(new RegExp(`app: adopted instance ${appBefore.id}`), 30_000);
    // The new ship's data plane (another port here, so a fresh one) serves once the ship has sent its first table.
    let first = await httpGet(ship.httpPort, '/app/');
    await waitFor(async () => (first = await httpGet(ship.httpPort, '/app/')).status === 200, 'app served by the new ship', 30_000, 100);
    assert.match(first.body, /built=built by npm run build/, 'the last good release serves at once');
    await waitFor(async () => (await httpGet(ship.httpPort, '/probe/')).status === 200, 'probe serving again', 60_000, 250);
    assert.notEqual(serving('probe')?.pid, probeBefore.pid, 'a new instance of the probe');
    assert.equal(readdirSync(join(dataDir, 'logs', 'probe')).filter((f) => f.startsWith('build-')).length, probeBuilds, 'started without a rebuild');
    assert.equal(buildLogs('app', v1sha).length, 1, 'v1 was not rebuilt');

    await waitFor(async () => /built=built slowly/.test((await httpGet(ship.httpPort, '/app/')).body), 'the interrupted deploy, retried, to serve', 120_000, 250);
    assert.equal(buildLogs('app', v2sha).length, 2, 'the interrupted build and its retry');
    // Serving is said once the data plane has acknowledged the table, a moment after it routes the first request.
    const app = await waitFor(async () => (await statusServices(dataDir)).find((r) => r.name === 'app' && r.state === 'serving'), 'app said serving', 10_000, 50);
    assert.equal(app?.sha, v2sha);
    await waitFor(() => !isSameProcess(appBefore), 'the adopted v1 instance stopped after the switch');
  });
});
