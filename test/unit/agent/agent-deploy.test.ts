import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { Agent } from '../../../src/agent/agent.js';
import type { BuildSide } from '../../../src/agent/releases/build-side.js';
import type { AgentLimits } from '../../../src/agent/limits.js';
import { groupAlive, isSameProcess } from '../../../src/agent/runtime/proc.js';
import { processRuntime } from '../../../src/agent/runtime/runtime-process.js';
import type { BuildInput, Release } from '../../../src/agent/types.js';
import type { PlaneClient } from '../../../src/dataplane/ship-side/plane-client.js';
import { stopDataPlane } from '../../../src/dataplane/ship-side/plane-process.js';
import type { DesiredState, Service } from '../../../src/headquarters/types.js';
import { silent } from '../../../src/log.js';
import { openDb } from '../../../src/state/db.js';
import { listInstances } from '../../../src/state/instances.js';
import { listServiceStatus, type ServiceStatus } from '../../../src/state/services.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeRelease, type HandMade } from '../../helpers/release.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { pacedLoops } from '../../helpers/paced.js';
import { startDataPlaneUnderTest } from '../../helpers/plane-under-test.js';

/**
 * The reconcile loop, switch and recovery against releases made by hand (a fake build side; the real one is proven
 * end to end in agent-e2e tests). Instances, health checks and the front door are real.
 */
const dataDir = tmpDir('sp-agent-');
const db = openDb(join(dataDir, 'state.db'));
after(async () => {
  await killRecordedInstances(dataDir);
  db.close();
});

const limits: AgentLimits = {
  buildQuietMs: 60_000,
  buildTimeoutMs: 10_000,
  drainTimeoutMs: 5000,
  stopGraceMs: 2000,
  maxConcurrentDeploys: 2,
  keepReleases: 5,
  retryBaseMs: 400,
  retryMaxMs: 60_000,
  crashBaseMs: 200,
  maxCrashes: 3,
  workerUpMs: 1000,
};

/** sha -> how to build it; resolveRef answers from `heads`. */
class FakeBuild implements BuildSide {
  heads = new Map<string, string>();
  recipes = new Map<string, Omit<HandMade, 'service'> | Error>();
  builds: string[] = [];
  serving = new Map<string, Release>();
  removed: string[] = [];
  async resolveRef(giturl: string): Promise<string> {
    const sha = this.heads.get(giturl);
    if (!sha) throw new Error(`no such repo ${giturl}`);
    return sha;
  }
  async buildRelease(input: BuildInput): Promise<Release> {
    this.builds.push(`${input.service}@${input.sha}`);
    await sleep(50);
    const r = this.recipes.get(input.sha);
    if (!r) throw new Error(`no recipe for ${input.sha}`);
    if (r instanceof Error) throw r;
    return makeRelease(dataDir, { ...r, service: input.service, env: { ...r.env, ...input.ordersEnv, ...input.hqEnv } });
  }
  async servingRelease(_d: string, service: string): Promise<Release | null> {
    return this.serving.get(service) ?? null;
  }
  async markServing(_d: string, service: string, id: string): Promise<void> {
    const file = join(dataDir, 'services', service, 'releases', `${id}.json`);
    this.serving.set(service, { config: JSON.parse(readFileSync(file, 'utf8')), dir: join(dataDir, 'services', service, 'releases', id) });
  }
  async listReleases(_d: string, service: string): Promise<Release[]> {
    const dir = join(dataDir, 'services', service, 'releases');
    return readdirSync(dir)
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ config: JSON.parse(readFileSync(join(dir, f), 'utf8')) as Release['config'], dir: join(dir, f.slice(0, -5)) }))
      .sort((a, b) => a.config.createdAt.localeCompare(b.config.createdAt));
  }
  async pruneReleases(): Promise<void> {}
  async removeService(_d: string, service: string): Promise<void> {
    this.removed.push(service);
    this.serving.delete(service);
  }
}

function service(mount: string, giturl: string, extra: { env?: Record<string, string>; unpublished?: boolean } = {}): Service {
  const name = mount === '/' ? 'root' : mount.slice(1).replace(/\//g, '.');
  const orders = { giturl, env: extra.env ?? {}, unpublished: extra.unpublished ?? false, proxyFor: [] };
  return { mount, name, ordersFile: `${mount.slice(1)}/orders`, orders, ordersDigest: JSON.stringify(orders), stale: false };
}

function desired(services: Service[], env: Record<string, string> = {}): DesiredState {
  return { sha: 'hq', services, brokenOrders: [], admirals: [], htpasswd: [], dataRemotes: [], jobs: [], env, shipscripts: [], containers: [], problems: [] };
}

function newAgent(build: BuildSide): Agent {
  return new Agent({ db, dataDir, shipName: 'unit', access: {}, log: silent, build, runtime: processRuntime, limits, pulseSeconds: 0.2, http: { listen: '127.0.0.1', port: 0 }, publicHost: 'unit' });
}

/** As in ship.ts: the data plane is started by its owner and handed to the agent; it outlives the agent, so it is stopped here. */
const doors = new Map<Agent, { client: PlaneClient; dir: string }>();
let planes = 0;
async function startAgent(agent: Agent): Promise<void> {
  const dir = join(dataDir, `plane-${++planes}`);
  const client = await startDataPlaneUnderTest({
    dataDir: dir,
    kind: 'embedded',
    listen: '127.0.0.1',
    port: 0,
    log: silent,
    onEvent: (e) => {
      if (e.event === 'problem') agent.doorProblem(e.service, e.problem);
    },
  });
  doors.set(agent, { client, dir });
  await agent.start(client);
}
async function stopAgent(agent: Agent): Promise<void> {
  await agent.stop();
  const d = doors.get(agent);
  d?.client.close();
  if (d) await stopDataPlane(d.dir);
  doors.delete(agent);
}

function status(name: string): ServiceStatus | undefined {
  return listServiceStatus(db).find((s) => s.name === name);
}

async function get(agent: Agent, path: string): Promise<{ status: number; body: string }> {
  const r = await fetch(`http://127.0.0.1:${agent.frontDoor?.port}${path}`);
  return { status: r.status, body: await r.text() };
}

async function version(agent: Agent, path: string): Promise<string | null> {
  const r = await get(agent, path);
  return r.status === 200 ? (JSON.parse(r.body) as { version: string }).version : null;
}

describe('agent with hand-made releases', () => {
  const build = new FakeBuild();
  let agent = newAgent(build);
  after(() => stopAgent(agent));

  test('deploys, then swaps new commits in under continuous requests without one failing', async () => {
    await startAgent(agent);
    build.heads.set('/repo/app', 'a1');
    build.recipes.set('a1', { version: 'v1' });
    agent.setDesired(desired([service('/app', '/repo/app', { env: { EXTRA: 'orders' } })], { HQ: 'yes' }));
    await waitFor(async () => (await version(agent, '/app/')) === 'v1', 'v1 to serve');
    const s = status('app');
    assert.equal(s?.state, 'serving');
    assert.equal(s?.url, `http://127.0.0.1:${agent.frontDoor?.port}/app/`);
    assert.equal(JSON.parse((await get(agent, '/app/x?y=1')).body).path, '/x?y=1');

    let failures = 0;
    let requests = 0;
    const seen = new Set<string>();
    const client = pacedLoops(1, async () => {
      try {
        const r = await get(agent, '/app/');
        requests++;
        if (r.status !== 200) failures++;
        else seen.add((JSON.parse(r.body) as { version: string }).version);
      } catch {
        failures++;
      }
    });
    for (let i = 2; i <= 4; i++) {
      build.recipes.set(`a${i}`, { version: `v${i}` });
      build.heads.set('/repo/app', `a${i}`);
      await waitFor(() => status('app')?.state === 'serving' && build.serving.get('app')?.config.env.VERSION === `v${i}`, `v${i} to serve`, 20_000);
    }
    await sleep(300);
    await client.stop();
    assert.equal(failures, 0, `${failures} of ${requests} requests failed`);
    assert.deepEqual([...seen].sort(), ['v1', 'v2', 'v3', 'v4']);
    await waitFor(() => listInstances(db).filter((r) => r.service === 'app').length === 1, 'old instances to be stopped');
  });

  test('a failed build and a never-healthy release leave the serving one in place, fail, and retry only with backoff', async () => {
    build.recipes.set('bad', new Error('compile exploded'));
    build.heads.set('/repo/app', 'bad');
    await waitFor(() => status('app')?.state === 'failed', 'failed state');
    assert.match(status('app')?.message ?? '', /build failed: compile exploded; release .* keeps serving/);
    assert.equal(await version(agent, '/app/'), 'v4');
    const t0 = build.builds.filter((b) => b === 'app@bad').length;
    await sleep(1500);
    const t1 = build.builds.filter((b) => b === 'app@bad').length;
    assert.ok(t1 - t0 <= 2, `retries back off: ${t1 - t0} builds in 1.5 s after 400 ms base`);

    build.recipes.set('sick', { version: 'sick', env: { SICK: '1' }, healthcheckTimeoutSeconds: 1 });
    build.heads.set('/repo/app', 'sick');
    await waitFor(() => /healthcheck \/health got no 200 within 1 s/.test(status('app')?.message ?? ''), 'never-healthy failure', 20_000);
    assert.equal(status('app')?.state, 'failed');
    assert.equal(await version(agent, '/app/'), 'v4');
    const sickLog = readdirSync(join(dataDir, 'logs', 'app'))
      .map((f) => readFileSync(join(dataDir, 'logs', 'app', f), 'utf8'))
      .find((t) => t.includes('as sick'));
    assert.match(sickLog ?? '', /starphleet: failed: healthcheck \/health got no 200/, 'the reason is in the instance log');
  });

  test('a crashed serving instance is restarted; a new commit deploys at once', async () => {
    build.recipes.set('a5', { version: 'v5' });
    build.heads.set('/repo/app', 'a5');
    await waitFor(async () => (await version(agent, '/app/')) === 'v5', 'v5 to serve', 20_000);
    const before = listInstances(db).find((r) => r.service === 'app' && r.state === 'serving');
    assert.ok(before);
    process.kill(-before.pid, 'SIGKILL');
    await waitFor(async () => {
      const now = listInstances(db).find((r) => r.service === 'app' && r.state === 'serving');
      return now && now.pid !== before.pid && (await version(agent, '/app/')) === 'v5';
    }, 'a restarted v5 instance', 20_000);
    assert.equal(status('app')?.state, 'serving');
  });

  test('redeploy builds the current sha again and swaps it in', async () => {
    const before = build.serving.get('app')?.config.id;
    const builds = build.builds.length;
    const r = await agent.redeploy('app');
    assert.equal(r.ok, true, r.message);
    assert.equal(build.builds.length, builds + 1);
    assert.equal(build.builds.at(-1), 'app@a5');
    assert.notEqual(build.serving.get('app')?.config.id, before);
    assert.match(r.message, /serves/);
    assert.equal(await version(agent, '/app/'), 'v5');
    assert.deepEqual(await agent.redeploy('nope'), { ok: false, message: 'no service named nope' });
  });

  test('a release that keeps crashing is marked failed and the previous release serves again', async () => {
    const good = build.serving.get('app')?.config.id;
    build.recipes.set('a6', { version: 'v6', env: { CRASH_AFTER_MS: '300' } });
    build.heads.set('/repo/app', 'a6');
    await waitFor(() => /crashed 4 times in a row; previous release .* serves instead/.test(status('app')?.message ?? ''), 'the fallback', 30_000);
    assert.equal(status('app')?.state, 'failed');
    assert.equal(build.serving.get('app')?.config.id, good, 'the release that served before');
    assert.equal(await version(agent, '/app/'), 'v5');
    const builds = build.builds.filter((b) => b === 'app@a6').length;
    await sleep(1000);
    assert.ok(build.builds.filter((b) => b === 'app@a6').length - builds <= 1, 'the crashing inputs are retried only after their backoff');
    // The retry builds those inputs again and crashes again: the fallback is the good release, never the first crashing build.
    const firstBad = /^release (\S+):/.exec(status('app')?.message ?? '')?.[1];
    await waitFor(() => {
      const m = /^release (\S+): .*crashed 4 times in a row; previous release (\S+) /.exec(status('app')?.message ?? '');
      return m && m[1] !== firstBad ? m : null;
    }, 'the retry to crash and fall back again', 30_000);
    assert.equal(build.serving.get('app')?.config.id, good, 'the release that served before, again');
    build.recipes.set('a7', { version: 'v7' });
    build.heads.set('/repo/app', 'a7');
    await waitFor(async () => (await version(agent, '/app/')) === 'v7', 'a new commit deploys at once', 20_000);
    await waitFor(() => status('app')?.state === 'serving' && listInstances(db).filter((r) => r.service === 'app').length === 1, 'v7 alone serving');
  });

  test('a stopped agent leaves instances running; the next one adopts them without a rebuild', async () => {
    const rec = listInstances(db).find((r) => r.service === 'app' && r.state === 'serving');
    assert.ok(rec);
    await stopAgent(agent);
    assert.ok(isSameProcess(rec), 'the instance outlives the agent');
    const builds = build.builds.length;
    agent = newAgent(build);
    await startAgent(agent);
    assert.equal(await version(agent, '/app/'), 'v7', 'served by the adopted instance before any desired state');
    agent.setDesired(desired([service('/app', '/repo/app', { env: { EXTRA: 'orders' } })], { HQ: 'yes' }));
    await sleep(800);
    assert.equal(build.builds.length, builds, 'no rebuild');
    assert.equal(listInstances(db).find((r) => r.service === 'app' && r.state === 'serving')?.pid, rec.pid);
  });

  test('unpublished runs without a route; a removed order stops its instance and removes route, releases and status', async () => {
    build.heads.set('/repo/job', 'j1');
    build.recipes.set('j1', { version: 'job' });
    agent.setDesired(desired([service('/app', '/repo/app', { env: { EXTRA: 'orders' } }), service('/job', '/repo/job', { unpublished: true })], { HQ: 'yes' }));
    await waitFor(() => status('job')?.state === 'serving', 'job serving');
    assert.equal(status('job')?.url, null);
    assert.equal((await get(agent, '/job/')).status, 404);
    const job = listInstances(db).find((r) => r.service === 'job');
    assert.ok(job && isSameProcess(job));
    const app = listInstances(db).find((r) => r.service === 'app');
    assert.ok(app);

    agent.setDesired(desired([service('/job', '/repo/job', { unpublished: true })], { HQ: 'yes' }));
    await waitFor(() => status('app') === undefined && build.removed.includes('app'), 'app removed');
    assert.equal((await get(agent, '/app/')).status, 404);
    assert.equal(groupAlive(app.pid), false);
    assert.equal(listInstances(db).some((r) => r.service === 'app'), false);
  });
});
