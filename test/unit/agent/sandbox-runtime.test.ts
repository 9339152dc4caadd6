import assert from 'node:assert/strict';
import { copyFileSync, existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitHealthy } from '../../../src/agent/runtime/health.js';
import { freePort, Instance } from '../../../src/agent/runtime/instances.js';
import { groupAlive } from '../../../src/agent/runtime/proc.js';
import { chooseRuntime } from '../../../src/agent/runtime/runtime.js';
import { recordedShipNet } from '../../../src/agent/sandbox/net-ship.js';
import { netNames, overlaps, vethName } from '../../../src/agent/sandbox/net-names.js';
import { sandboxRunDir } from '../../../src/agent/sandbox/sandbox.js';
import { recordedServiceUids } from '../../../src/agent/sandbox/service-users.js';
import { dialOptions, type Upstream } from '../../../src/dataplane/protocol/upstream.js';
import { openDb } from '../../../src/state/db.js';
import { FIXTURES } from '../../helpers/fixtures.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeRelease } from '../../helpers/release.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** The bwrap runtime on its own: instances started by Instance.start, dialled at their address on the ship's bridge. */
const dataDir = tmpDir('sp-sbx-runtime-');
const db = openDb(join(dataDir, 'state.db'));
const { runtime, problem } = chooseRuntime({});
after(async () => {
  await killRecordedInstances(dataDir);
  db.close();
});

function get(upstream: Upstream, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ ...dialOptions(upstream), path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Pids of the sandbox of a launcher's group: its pid namespace's (the app runs in a session of its own). */
function sandboxPids(pgid: number): number[] {
  const mine = readlinkSync('/proc/self/ns/pid');
  const all = readdirSync('/proc').filter((x) => /^\d+$/.test(x));
  const ns = (n: string): string | null => {
    try {
      return readlinkSync(`/proc/${n}/ns/pid`);
    } catch {
      return null;
    }
  };
  let theirs: string | null = null;
  for (const n of all) {
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      const p = ns(n);
      if (p !== null && p !== mine) theirs = p;
    } catch {
      // Gone meanwhile.
    }
  }
  return theirs === null ? [] : all.filter((n) => ns(n) === theirs).map(Number);
}

/** Socket inodes listening in the ship's (this process's) network namespace. */
function listeningInodes(): Set<string> {
  const out = new Set<string>();
  for (const f of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(f, 'utf8').split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols[3] === '0A') out.add(cols[9] as string);
    }
  }
  return out;
}

function socketInodes(pid: number): string[] {
  const out: string[] = [];
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) out.push(m[1] as string);
    }
  } catch {
    // Gone meanwhile.
  }
  return out;
}

describe('bwrap runtime as root: the sandbox that holds', () => {
  test('the ship runs as root here and the sandbox works (this suite is about that case)', () => {
    assert.equal(process.getuid?.(), 0, 'run these tests as root, as CI does');
    assert.equal(problem, null);
    assert.equal(runtime.kind, 'bwrap');
  });

  test("an instance is reached at its address on the ship's bridge, no relay: nothing of it listens in the ship's network namespace, it runs as its service's own uid, and ps shows a short title", async () => {
    const release = makeRelease(dataDir, { service: 'isolated', version: 'v1' });
    const port = await freePort(new Set());
    const instance = Instance.start(db, runtime, { service: 'isolated', release, port, dataDir });
    const up = instance.backend.upstream;
    assert.equal(up.kind, 'tcp');
    const net = recordedShipNet(dataDir);
    assert.ok(net, 'the direct path is recorded in <data>/net/net.json');
    assert.ok(up.kind === 'tcp' && overlaps({ network: up.host, prefix: 32 }, net.subnet), `${JSON.stringify(up)} is in ${net.subnet.network}/${net.subnet.prefix}`);
    assert.equal(up.kind === 'tcp' && up.port, port);
    const h = await waitHealthy({ upstream: up, path: '/health', timeoutMs: 30_000, exited: instance.exited });
    assert.deepEqual(h, { ok: true }, readFileSync(instance.logFile, 'utf8'));
    assert.equal(JSON.parse((await get(up, '/x')).body).port, String(port));
    const veth = vethName(dataDir, instance.id);
    assert.ok(existsSync(`/sys/class/net/${netNames(dataDir).bridge}/brif/${veth}`), `its veth ${veth} is on the bridge`);
    const inside = sandboxPids(instance.record.pid);
    assert.ok(inside.length >= 2, 'init and the app run in the sandbox');
    const uid = recordedServiceUids(dataDir).isolated;
    assert.ok(uid !== undefined && uid >= 65536, `the service has a uid of its own: ${uid}`);
    const listening = listeningInodes();
    for (const pid of inside) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uids = (/^Uid:\s*(.*)$/m.exec(status)?.[1] ?? '').split(/\s+/);
      assert.deepEqual(uids, [String(uid), String(uid), String(uid), String(uid)], `pid ${pid} runs as the service's uid on the ship`);
      assert.match(status, /^CapEff:\s*0+$/m);
      assert.ok(!readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('bridge.js'), `pid ${pid} is no relay`);
      for (const inode of socketInodes(pid)) assert.ok(!listening.has(inode), `pid ${pid} listens on socket ${inode} in the ship's netns`);
    }
    const tcp = readFileSync('/proc/net/tcp', 'utf8');
    assert.ok(!tcp.split('\n').some((l) => l.includes(`:${port.toString(16).toUpperCase().padStart(4, '0')} `) && l.trim().split(/\s+/)[3] === '0A'), `port ${port} is not listening on the ship`);
    const title = readFileSync(`/proc/${instance.record.pid}/cmdline`, 'utf8').split('\0');
    assert.equal(title[0], `starphleet: isolated web.1 ${release.config.id}`);
    assert.ok(title.join(' ').length < 200, `the launcher's command line is short: ${title.join(' ')}`);
    await instance.stop(10_000);
    assert.equal(groupAlive(instance.record.pid), false);
    await waitFor(() => !existsSync(`/sys/class/net/${veth}`) && !existsSync(sandboxRunDir(dataDir, instance.id)), 'its veth and run dir to go', 10_000);
    assert.deepEqual(readdirSync(join(dataDir, 'net', 'leases')), [], 'its address is free again');
  });

  test('stopping an instance that traps SIGTERM delivers it, lets its in-flight request finish, then the sandbox ends', async () => {
    const release = makeRelease(dataDir, { service: 'graceful', version: 'v1', command: 'exec node hostile.js', healthcheck: '/' });
    copyFileSync(join(FIXTURES, 'hostile-app', 'server.js'), join(release.dir, 'hostile.js'));
    copyFileSync(join(FIXTURES, 'hostile-app', 'probe.js'), join(release.dir, 'probe.js'));
    const instance = Instance.start(db, runtime, { service: 'graceful', release, port: await freePort(new Set()), dataDir });
    assert.deepEqual(await waitHealthy({ upstream: instance.backend.upstream, path: '/', timeoutMs: 30_000, exited: instance.exited }), { ok: true }, readFileSync(instance.logFile, 'utf8'));
    const slow = get(instance.backend.upstream, '/slow?ms=3000');
    await new Promise((r) => setTimeout(r, 500));
    await instance.stop(30_000);
    assert.deepEqual(await slow, { status: 200, body: 'slow done' });
    const log = readFileSync(instance.logFile, 'utf8');
    assert.match(log, /got SIGTERM with 1 in flight/);
    assert.match(log, /finished in-flight requests, exiting/);
    await waitFor(() => !groupAlive(instance.record.pid), 'the sandbox to end', 10_000);
  });
});
