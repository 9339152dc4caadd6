import assert from 'node:assert/strict';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitHealthy } from '../../../src/agent/runtime/health.js';
import { freePort, Instance } from '../../../src/agent/runtime/instances.js';
import { groupAlive, isSameProcess, processStartTime } from '../../../src/agent/runtime/proc.js';
import { rotateIfLarge } from '../../../src/agent/runtime/instance-logs.js';
import { processRuntime } from '../../../src/agent/runtime/runtime-process.js';
import { RuntimeError, selectRuntime, type Runtime } from '../../../src/agent/runtime/runtime.js';
import { dialOptions } from '../../../src/dataplane/protocol/upstream.js';
import { request } from 'node:http';

const bwrapRuntime = selectRuntime({ STARPHLEET_RUNTIME: 'bwrap' });
import { openDb } from '../../../src/state/db.js';
import { listInstances } from '../../../src/state/instances.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeRelease } from '../../helpers/release.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

const dataDir = tmpDir('sp-runtime-');
const db = openDb(join(dataDir, 'state.db'));
after(async () => {
  await killRecordedInstances(dataDir);
  db.close();
});

/** GET through the instance's upstream: its sandbox's unix socket, or loopback for the process runtime. */
function get(instance: Instance, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...dialOptions(instance.backend.upstream), path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function started(runtime: Runtime, service: string, env: Record<string, string> = {}): Promise<Instance> {
  const release = makeRelease(dataDir, { service, version: `${runtime.kind}-v1`, env: { SHIP_PID: String(process.pid), ...env } });
  const instance = Instance.start(db, runtime, { service, release, port: await freePort(new Set()), dataDir });
  const h = await waitHealthy({ upstream: instance.backend.upstream, path: '/health', timeoutMs: 15_000, exited: instance.exited });
  assert.deepEqual(h, { ok: true }, readFileSync(instance.logFile, 'utf8'));
  return instance;
}

describe('runtime selection', () => {
  test('STARPHLEET_RUNTIME forces a runtime and rejects anything else', () => {
    assert.equal(selectRuntime({ STARPHLEET_RUNTIME: 'process' }).kind, 'process');
    assert.equal(selectRuntime({ STARPHLEET_RUNTIME: 'bwrap' }).kind, 'bwrap');
    assert.throws(() => selectRuntime({ STARPHLEET_RUNTIME: 'docker' }), RuntimeError);
    assert.equal(selectRuntime({}).kind, 'bwrap', 'bubblewrap works on this machine (.ci/run installs it), so it is chosen');
  });
});

for (const runtime of [processRuntime, bwrapRuntime]) {
  describe(`${runtime.kind} runtime`, () => {
    test('runs the command in the release dir with the release env and PORT, detached in its own process group, output in its log', async () => {
      const instance = await started(runtime, `svc-${runtime.kind}`, { EXTRA: 'from-config' });
      const r = await get(instance, '/hello?x=1');
      assert.deepEqual(JSON.parse(r.body), { version: `${runtime.kind}-v1`, port: String(instance.port), path: '/hello?x=1', env: 'from-config' });
      const stat = readFileSync(`/proc/${instance.record.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      assert.equal(Number(fields[2]), instance.record.pid, 'the instance leads its process group');
      assert.equal(Number(fields[3]), instance.record.pid, 'and its session');
      assert.equal(processStartTime(instance.record.pid), instance.record.startTime);
      assert.match(readFileSync(instance.logFile, 'utf8'), new RegExp(`listening on ${instance.port} as ${runtime.kind}-v1`));
      assert.equal(listInstances(db).find((x) => x.id === instance.id)?.port, instance.port);
      await instance.stop(5000);
      assert.equal(groupAlive(instance.record.pid), false, 'the whole process group is gone');
      assert.equal(isSameProcess(instance.record), false);
      assert.equal(listInstances(db).find((x) => x.id === instance.id), undefined, 'and its record');
    });

    test('a group that ignores SIGTERM is gone after the grace period at the latest', async () => {
      const release = makeRelease(dataDir, { service: `stubborn-${runtime.kind}`, version: 'v', command: "trap '' TERM; node -e \"process.on('SIGTERM', () => {}); require('./server.js')\"" });
      const instance = Instance.start(db, runtime, { service: `stubborn-${runtime.kind}`, release, port: await freePort(new Set()), dataDir });
      assert.deepEqual(await waitHealthy({ upstream: instance.backend.upstream, path: '/health', timeoutMs: 15_000, exited: instance.exited }), { ok: true });
      const t0 = Date.now();
      await instance.stop(500);
      // bubblewrap's own processes end on SIGTERM and take the sandbox with them; a plain process group needs the SIGKILL.
      if (runtime.kind === 'process') assert.ok(Date.now() - t0 >= 450, 'it waited for the grace period first');
      assert.equal(groupAlive(instance.record.pid), false);
    });
  });
}

describe('bubblewrap isolation', () => {
  test('the instance cannot write its release dir nor see the ship, has a private /tmp and reads and writes /var/data', async (t) => {
    writeFileSync('/tmp/sp-runtime-host-marker', 'host');
    t.after(() => rmSync('/tmp/sp-runtime-host-marker', { force: true }));
    const instance = await started(bwrapRuntime, 'sandboxed');
    const probe = JSON.parse((await get(instance, '/probe')).body) as Record<string, unknown>;
    assert.equal(probe.writeRelease, false, 'release dir is read-only');
    assert.equal(probe.seesShip, false, `ship pid ${process.pid} is not visible`);
    assert.ok((probe.pids as number[]).length < 10, `own pid namespace: ${JSON.stringify(probe.pids)}`);
    assert.equal(probe.writeTmp, true);
    assert.ok(!(probe.tmpEntries as string[]).includes('sp-runtime-host-marker'), '/tmp is private');
    assert.equal(probe.writeData, true);
    assert.equal(probe.readData, true);
    assert.equal(readFileSync(join(dataDir, 'volumes', 'sandboxed', 'data', 'probe.txt'), 'utf8'), 'from bwrap-v1', "/var/data is the service's volume, <data>/volumes/<name>/data on the host");
    assert.equal(existsSync(join(dataDir, "services", "sandboxed", "releases", instance.record.release, "written")), false);
    await instance.stop(5000);
  });

  test('the process runtime, for contrast, can write its release dir', async () => {
    const instance = await started(processRuntime, 'unsandboxed');
    const probe = JSON.parse((await get(instance, '/probe')).body) as Record<string, unknown>;
    assert.equal(probe.writeRelease, true);
    assert.equal(probe.seesShip, true);
    await instance.stop(5000);
  });
});

describe('healthcheck', () => {
  test('an instance that exits fails at once, one that never answers 200 fails at the timeout', async () => {
    const crash = makeRelease(dataDir, { service: 'crashy', version: 'v', command: 'echo boom >&2; exit 3' });
    const c = Instance.start(db, processRuntime, { service: 'crashy', release: crash, port: await freePort(new Set()), dataDir });
    const t0 = Date.now();
    const r1 = await waitHealthy({ upstream: c.backend.upstream, path: '/health', timeoutMs: 30_000, exited: c.exited });
    assert.equal(r1.ok, false);
    assert.ok(Date.now() - t0 < 10_000, 'no waiting for the timeout');
    assert.match(r1.ok ? '' : r1.reason, /exited/);
    await waitFor(() => readFileSync(c.logFile, 'utf8').includes('boom'), 'crash output in the log');
    await c.stop(1000);

    const sick = makeRelease(dataDir, { service: 'sick', version: 'v', env: { SICK: '1' } });
    const s = Instance.start(db, processRuntime, { service: 'sick', release: sick, port: await freePort(new Set()), dataDir });
    const r2 = await waitHealthy({ upstream: s.backend.upstream, path: '/health', timeoutMs: 1500, exited: s.exited });
    assert.equal(r2.ok, false);
    assert.match(r2.ok ? '' : r2.reason, /no 200 within 1.5 s \(last: HTTP 503\)/);
    await s.stop(1000);
  });
});

describe('log rotation', () => {
  test('past the size limit the log is copied to .1 (and .1 to .2) and truncated in place', () => {
    const dir = tmpDir('sp-rotate-');
    const f = join(dir, 'instance-x.log');
    writeFileSync(f, 'a'.repeat(100));
    assert.equal(rotateIfLarge(f, 200), false);
    assert.equal(rotateIfLarge(f, 50), true);
    assert.equal(readFileSync(`${f}.1`, 'utf8'), 'a'.repeat(100));
    assert.equal(readFileSync(f, 'utf8'), '');
    writeFileSync(f, 'b'.repeat(100));
    assert.equal(rotateIfLarge(f, 50), true);
    assert.equal(readFileSync(`${f}.2`, 'utf8'), 'a'.repeat(100));
    assert.equal(readFileSync(`${f}.1`, 'utf8'), 'b'.repeat(100));
  });
});
