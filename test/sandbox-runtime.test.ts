import assert from 'node:assert/strict';
import { copyFileSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { waitHealthy } from '../src/agent/runtime/health.js';
import { freePort, Instance } from '../src/agent/runtime/instances.js';
import { groupAlive } from '../src/agent/runtime/proc.js';
import { chooseRuntime } from '../src/agent/runtime/runtime.js';
import { openDb } from '../src/state/db.js';
import { FIXTURES } from './helpers/fixtures.js';
import { killRecordedInstances } from './helpers/instances.js';
import { makeRelease } from './helpers/release.js';
import { tmpDir } from './helpers/tmp.js';
import { waitFor } from './helpers/wait.js';

/** The bwrap runtime on its own: instances started by Instance.start, dialled through their unix socket. */
const dataDir = tmpDir('sp-sbx-runtime-');
const db = openDb(join(dataDir, 'state.db'));
const { runtime, problem } = chooseRuntime({});
after(async () => {
  await killRecordedInstances(dataDir);
  db.close();
});

function get(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Pids of the group's processes that live in a pid namespace other than ours: the sandbox's. */
function sandboxPids(pgid: number): number[] {
  const mine = readlinkSync('/proc/self/ns/pid');
  const out: number[] = [];
  for (const n of readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      const stat = readFileSync(`/proc/${n}/stat`, 'utf8');
      if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]) !== pgid) continue;
      if (readlinkSync(`/proc/${n}/ns/pid`) !== mine) out.push(Number(n));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
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

  test('an instance is reached only through its unix socket: nothing of it listens in the ship\'s network namespace, and it is not uid 0 as the ship sees it', async () => {
    const release = makeRelease(dataDir, { service: 'isolated', version: 'v1' });
    const port = await freePort(new Set());
    const instance = Instance.start(db, runtime, { service: 'isolated', release, port, dataDir });
    assert.equal(instance.backend.upstream.kind, 'unix');
    const h = await waitHealthy({ upstream: instance.backend.upstream, path: '/health', timeoutMs: 30_000, exited: instance.exited });
    assert.deepEqual(h, { ok: true }, readFileSync(instance.logFile, 'utf8'));
    const socketPath = (instance.backend.upstream as { path: string }).path;
    assert.equal(JSON.parse((await get(socketPath, '/x')).body).port, String(port));
    const inside = sandboxPids(instance.record.pid);
    assert.ok(inside.length >= 2, 'the app and the bridge run in the sandbox');
    const listening = listeningInodes();
    for (const pid of inside) {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      const uids = (/^Uid:\s*(.*)$/m.exec(status)?.[1] ?? '').split(/\s+/);
      assert.ok(uids.length === 4 && uids.every((u) => u !== '0'), `pid ${pid} is uid ${uids.join(' ')} on the ship`);
      assert.match(status, /^CapEff:\s*0+$/m);
      for (const inode of socketInodes(pid)) assert.ok(!listening.has(inode), `pid ${pid} listens on socket ${inode} in the ship's netns`);
    }
    const tcp = readFileSync('/proc/net/tcp', 'utf8');
    assert.ok(!tcp.split('\n').some((l) => l.includes(`:${port.toString(16).toUpperCase().padStart(4, '0')} `) && l.trim().split(/\s+/)[3] === '0A'), `port ${port} is not listening on the ship`);
    await instance.stop(10_000);
    assert.equal(groupAlive(instance.record.pid), false);
  });

  test('stopping an instance that traps SIGTERM delivers it, lets its in-flight request finish, then the sandbox ends', async () => {
    const release = makeRelease(dataDir, { service: 'graceful', version: 'v1', command: 'exec node hostile.js', healthcheck: '/' });
    copyFileSync(join(FIXTURES, 'hostile-app', 'server.js'), join(release.dir, 'hostile.js'));
    copyFileSync(join(FIXTURES, 'hostile-app', 'probe.js'), join(release.dir, 'probe.js'));
    const instance = Instance.start(db, runtime, { service: 'graceful', release, port: await freePort(new Set()), dataDir });
    assert.deepEqual(await waitHealthy({ upstream: instance.backend.upstream, path: '/', timeoutMs: 30_000, exited: instance.exited }), { ok: true }, readFileSync(instance.logFile, 'utf8'));
    const socketPath = (instance.backend.upstream as { path: string }).path;
    const slow = get(socketPath, '/slow?ms=3000');
    await new Promise((r) => setTimeout(r, 500));
    await instance.stop(30_000);
    assert.deepEqual(await slow, { status: 200, body: 'slow done' });
    const log = readFileSync(instance.logFile, 'utf8');
    assert.match(log, /got SIGTERM with 1 in flight/);
    assert.match(log, /finished in-flight requests, exiting/);
    await waitFor(() => !groupAlive(instance.record.pid), 'the sandbox to end', 10_000);
  });
});
