import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Agent } from '../../src/agent/agent.js';
import type { BuildSide } from '../../src/agent/releases/build-side.js';
import { loadRelease } from '../../src/agent/releases/release-store.js';
import type { AgentLimits } from '../../src/agent/limits.js';
import { groupAlive, isSameProcess } from '../../src/agent/runtime/proc.js';
import { processRuntime } from '../../src/agent/runtime/runtime-process.js';
import type { BuildInput, Release } from '../../src/agent/types.js';
import type { PlaneClient } from '../../src/dataplane/ship-side/plane-client.js';
import { stopDataPlane } from '../../src/dataplane/ship-side/plane-process.js';
import type { DesiredState, Service } from '../../src/headquarters/types.js';
import { loadBackoff } from '../../src/state/backoff.js';
import { openDb } from '../../src/state/db.js';
import { deleteInstance, listInstances } from '../../src/state/instances.js';
import { listServiceStatus } from '../../src/state/services.js';
import { killRecordedInstances } from '../helpers/instances.js';
import { makeRelease, type HandMade } from '../helpers/release.js';
import { tmpDir } from '../helpers/tmp.js';
import { sleep, waitFor } from '../helpers/wait.js';
import { pacedLoops } from '../helpers/paced.js';
import { startDataPlaneUnderTest } from '../helpers/plane-under-test.js';

/**
 * Deploy bookkeeping under faults (#17), against hand-made releases (a fake build side) with real instances, health
 * checks and data plane: a switch whose recording fails still stops the old instance; a failed ref lookup and a ship
 * restart keep a known-bad commit's backoff; an instance the state db forgot is found and stopped at start; what a
 * ship killed mid-write left (half-written release dirs, temp files) is removed at start and never served.
 */
const dataDir = tmpDir('sp-chaos-book-');
const db = openDb(join(dataDir, 'state.db'));
const lines: string[] = [];
const log = (l: string): void => void lines.push(l);
after(async () => {
  await killRecordedInstances(dataDir);
  db.close();
});

const limits: AgentLimits = {
  buildQuietMs: 60_000,
  buildTimeoutMs: 10_000,
  drainTimeoutMs: 3000,
  stopGraceMs: 2000,
  maxConcurrentDeploys: 2,
  keepReleases: 5,
  // Long enough that a rebuild inside the test can only come from a reset backoff.
  retryBaseMs: 120_000,
  retryMaxMs: 600_000,
  crashBaseMs: 200,
  maxCrashes: 3,
  workerUpMs: 1000,
};

class FakeBuild implements BuildSide {
  heads = new Map<string, string>();
  lookupFails = false;
  recipes = new Map<string, Omit<HandMade, 'service'> | Error>();
  builds: string[] = [];
  serving = new Map<string, Release>();
  /** Release versions whose markServing fails as a full disk would. */
  failMark = new Set<string>();
  /** Release versions whose markServing never returns: the ship "dies" there, right after the route moved. */
  hangMark = new Set<string>();
  async resolveRef(giturl: string): Promise<string> {
    if (this.lookupFails) throw new Error('fatal: unable to access: Could not resolve host: git.example');
    const sha = this.heads.get(giturl);
    if (!sha) throw new Error(`no such repo ${giturl}`);
    return sha;
  }
  async buildRelease(input: BuildInput): Promise<Release> {
    this.builds.push(`${input.service}@${input.sha}`);
    const r = this.recipes.get(input.sha);
    if (!r) throw new Error(`no recipe for ${input.sha}`);
    if (r instanceof Error) throw r;
    return makeRelease(dataDir, { ...r, service: input.service });
  }
  async servingRelease(_d: string, service: string): Promise<Release | null> {
    return this.serving.get(service) ?? null;
  }
  async markServing(_d: string, service: string, id: string): Promise<void> {
    const file = join(dataDir, 'services', service, 'releases', `${id}.json`);
    const config = JSON.parse(readFileSync(file, 'utf8')) as Release['config'];
    if (this.hangMark.has(config.env.VERSION ?? '')) await new Promise(() => {});
    if (this.failMark.has(config.env.VERSION ?? '')) throw Object.assign(new Error(`ENOSPC: no space left on device, write '${file}'`), { code: 'ENOSPC' });
    this.serving.set(service, { config, dir: join(dataDir, 'services', service, 'releases', id) });
  }
  async listReleases(): Promise<Release[]> {
    return [];
  }
  async pruneReleases(): Promise<void> {}
  async removeService(): Promise<void> {}
}

function service(mount: string, giturl: string): Service {
  const name = mount.slice(1);
  const orders = { giturl, env: {}, unpublished: false, proxyFor: [] };
  return { mount, name, ordersFile: `${name}/orders`, orders, ordersDigest: JSON.stringify(orders), stale: false };
}

function desired(services: Service[]): DesiredState {
  return { sha: 'hq', services, brokenOrders: [], admirals: [], htpasswd: [], dataRemotes: [], jobs: [], env: {}, shipscripts: [], containers: [], problems: [] };
}

const doors = new Map<Agent, PlaneClient>();
let planes = 0;
async function startAgent(build: BuildSide): Promise<Agent> {
  const agent = new Agent({ db, dataDir, shipName: 'chaos', access: {}, log, build, runtime: processRuntime, limits, pulseSeconds: 0.2, http: { listen: '127.0.0.1', port: 0 }, publicHost: 'chaos' });
  const client = await startDataPlaneUnderTest({ dataDir: join(dataDir, `plane-${++planes}`), kind: 'embedded', listen: '127.0.0.1', port: 0, log: () => {}, onEvent: () => {} });
  doors.set(agent, client);
  await agent.start(client);
  return agent;
}
async function stopAgent(agent: Agent): Promise<void> {
  await agent.stop();
  doors.get(agent)?.close();
  doors.delete(agent);
  for (let i = 1; i <= planes; i++) await stopDataPlane(join(dataDir, `plane-${i}`));
}

async function version(agent: Agent, path: string): Promise<string | null> {
  const r = await fetch(`http://127.0.0.1:${agent.frontDoor?.port}${path}`).catch(() => null);
  return r && r.status === 200 ? ((await r.json()) as { version: string }).version : null;
}

const status = (name: string) => listServiceStatus(db).find((s) => s.name === name);
const appInstances = () => listInstances(db).filter((r) => r.service === 'app');

describe('deploy bookkeeping under faults', { timeout: 300_000 }, () => {
  const build = new FakeBuild();
  let agent: Agent;
  after(async () => {
    if (agent) await stopAgent(agent);
  });

  test('recording a switch fails after the route moved: the new release serves and the old instance is stopped all the same', async () => {
    agent = await startAgent(build);
    build.heads.set('/repo/app', 'a1');
    build.recipes.set('a1', { version: 'v1' });
    agent.setDesired(desired([service('/app', '/repo/app')]));
    await waitFor(async () => (await version(agent, '/app/')) === 'v1', 'v1 to serve', 60_000);
    const old = appInstances();
    assert.equal(old.length, 1);
    build.failMark.add('v2');
    build.recipes.set('a2', { version: 'v2' });
    build.heads.set('/repo/app', 'a2');
    await waitFor(async () => (await version(agent, '/app/')) === 'v2', 'v2 to serve', 60_000);
    const gone = old[0];
    assert.ok(gone);
    await waitFor(() => !groupAlive(gone.pid) && appInstances().every((r) => r.id !== gone.id), 'the old instance to be stopped', 30_000);
    assert.equal(appInstances().length, 1, `one instance left: ${JSON.stringify(appInstances())}`);
    assert.ok(lines.some((l) => /app: release .* serves, but recording it failed: ENOSPC/.test(l)), lines.join('\n'));
    assert.match(status('app')?.message ?? '', /recording the switch failed: ENOSPC/);
    build.failMark.clear();
  });

  test('a failed ref lookup and a ship restart keep the backoff of a known-bad commit', async () => {
    build.recipes.set('bad', new Error('compile exploded'));
    build.heads.set('/repo/app', 'bad');
    await waitFor(() => status('app')?.state === 'failed' && /compile exploded/.test(status('app')?.message ?? ''), 'the bad commit to fail', 30_000);
    const builds = () => build.builds.filter((b) => b === 'app@bad').length;
    assert.equal(builds(), 1);
    assert.equal(loadBackoff(db, 'app')?.attempts, 1, 'the backoff is in the state db');
    // A network blip: the lookup fails for a few pulses, then resolves to the same bad commit.
    build.lookupFails = true;
    await waitFor(() => /cannot resolve \/repo\/app: .*Could not resolve host/.test(status('app')?.message ?? ''), 'the lookup failure in status', 30_000);
    await sleep(1000);
    build.lookupFails = false;
    await waitFor(() => status('app')?.state === 'failed' && /compile exploded/.test(status('app')?.message ?? ''), 'the failure back in status once the ref resolves', 30_000);
    await sleep(1500);
    assert.equal(builds(), 1, 'no rebuild of the bad commit after the blip');
    assert.equal(await version(agent, '/app/'), 'v2', 'the old release serves');
    // The ship restarts: its successor knows the backoff from the db.
    await stopAgent(agent);
    agent = await startAgent(build);
    agent.setDesired(desired([service('/app', '/repo/app')]));
    // The switch to v2 was never recorded (test 1): the next ship serves what was, v1, and builds nothing.
    await waitFor(async () => (await version(agent, '/app/')) === 'v1', () => `v1 served by the next agent\n${lines.slice(-20).join('\n')}`, 30_000);
    await sleep(2000);
    assert.equal(builds(), 1, 'no rebuild of the bad commit after a restart');
    // A new commit goes at once.
    build.recipes.set('a3', { version: 'v3' });
    build.heads.set('/repo/app', 'a3');
    await waitFor(async () => (await version(agent, '/app/')) === 'v3', 'a new commit to deploy at once', 60_000);
    await waitFor(() => loadBackoff(db, 'app') === null, 'the backoff record to go with a good deploy', 10_000);
  });

  test('at start: an instance the state db forgot is stopped; half-written releases and temp files are removed, never served', async () => {
    const known = await waitFor(() => {
      const all = appInstances();
      return all.length === 1 && all[0]?.state === 'serving' ? all[0] : null;
    }, 'v3 alone serving', 30_000);
    await stopAgent(agent);
    // The db loses the record (a ship killed between spawn and record, a db restored from a backup).
    deleteInstance(db, known.id);
    assert.ok(isSameProcess(known), 'the instance runs on');
    // A ship killed mid-write: a release dir without its config, a config without its dir, temp files.
    const releases = join(dataDir, 'services', 'app', 'releases');
    const half = '20991231235959-abcdef0';
    mkdirSync(join(releases, half), { recursive: true });
    writeFileSync(join(releases, half, 'server.js'), 'half');
    writeFileSync(join(releases, '20991231235958-abcdef1.json'), '{}');
    mkdirSync(join(dataDir, 'tmp', 'build-app-Ab3dE9', 'source'), { recursive: true });
    mkdirSync(join(dataDir, 'layers'), { recursive: true });
    writeFileSync(join(dataDir, 'layers', '.tmp-0123456789ab-new.tar.gz'), 'partial');
    mkdirSync(join(dataDir, 'configs'), { recursive: true });
    writeFileSync(join(dataDir, 'configs', '.tmp-0123456789ab-app.json'), '{"half":');
    assert.equal(await loadRelease(dataDir, 'app', half), null, 'a release dir without its config is no release');
    lines.length = 0;
    agent = await startAgent(build);
    assert.equal(isSameProcess(known), false, 'the forgotten instance was stopped at start');
    assert.equal(groupAlive(known.pid), false);
    assert.ok(lines.some((l) => l.includes(`stopping instance ${known.id} (pid ${known.pid}): the state database does not know it`)), lines.join('\n'));
    assert.ok(lines.some((l) => /removed 5 unfinished file\(s\) an earlier ship left/.test(l)), lines.join('\n'));
    assert.equal(existsSync(join(releases, half)), false);
    assert.equal(existsSync(join(releases, '20991231235958-abcdef1.json')), false);
    assert.deepEqual(readdirSync(join(dataDir, 'tmp')), []);
    assert.deepEqual(readdirSync(join(dataDir, 'layers')).filter((n) => n.startsWith('.tmp-')), []);
    assert.deepEqual(readdirSync(join(dataDir, 'configs')).filter((n) => n.startsWith('.tmp-')), []);
    // The service is started again from its serving release, not from anything half-written.
    agent.setDesired(desired([service('/app', '/repo/app')]));
    await waitFor(async () => (await version(agent, '/app/')) === 'v3', () => `v3 to serve again\n${lines.slice(-30).join('\n')}`, 60_000);
    assert.equal(appInstances().length, 1);
  });

  test('a ship killed mid-switch (new release routed, `current` not moved yet): the next one drains it before stopping it, and no request fails', async () => {
    build.hangMark.add('v4');
    build.recipes.set('a4', { version: 'v4' });
    build.heads.set('/repo/app', 'a4');
    await waitFor(async () => (await version(agent, '/app/')) === 'v4', 'v4 routed', 60_000);
    const routed = await waitFor(() => appInstances().find((r) => r.state === 'serving' && r.release !== build.serving.get('app')?.config.id), 'the v4 instance recorded serving', 10_000);
    const port = agent.frontDoor?.port;
    let requests = 0;
    const failures: string[] = [];
    const client = pacedLoops(1, async () => {
      const r = await fetch(`http://127.0.0.1:${port}/app/`).catch((e: Error) => e);
      requests++;
      if (r instanceof Error) failures.push(r.message);
      else if (r.status !== 200) failures.push(`HTTP ${r.status}`);
      else await r.arrayBuffer();
    });
    await sleep(300);
    // In flight to the v4 instance when the ship dies (it answers after 1.5 s).
    const slow = fetch(`http://127.0.0.1:${port}/app/slow`).then(async (r) => `${r.status} ${await r.text()}`, (e: Error) => e.message);
    await sleep(100);
    // kill -9 of the ship at that moment: it reconciles no more (its switch hangs for ever); the plane and every
    // instance run on, and the next ship adopts the plane.
    void agent.pause();
    doors.get(agent)?.close();
    doors.delete(agent);
    lines.length = 0;
    const next = new Agent({ db, dataDir, shipName: 'chaos', access: {}, log, build, runtime: processRuntime, limits, pulseSeconds: 0.2, http: { listen: '127.0.0.1', port: 0 }, publicHost: 'chaos' });
    const plane = await startDataPlaneUnderTest({ dataDir: join(dataDir, `plane-${planes}`), kind: 'embedded', listen: '127.0.0.1', port: 0, log: () => {}, onEvent: () => {} });
    doors.set(next, plane);
    agent = next;
    await agent.start(plane);
    assert.ok(lines.some((l) => l.includes(`stopping leftover instance ${routed.id} (serving`)), lines.join('\n'));
    await waitFor(() => !groupAlive(routed.pid), 'the leftover v4 instance to be stopped', 30_000);
    await sleep(500);
    await client.stop();
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    assert.equal(await slow, '200 slow v4', 'the request in flight to the routed instance finished');
    assert.ok(requests > 20, `the client kept sending (${requests} requests)`);
    // The successor serves what `current` names (v3), then deploys the head (v4) again.
    build.hangMark.clear();
    agent.setDesired(desired([service('/app', '/repo/app')]));
    await waitFor(async () => (await version(agent, '/app/')) === 'v4', () => `v4 deployed again\n${lines.slice(-20).join('\n')}`, 60_000);
  });
});
