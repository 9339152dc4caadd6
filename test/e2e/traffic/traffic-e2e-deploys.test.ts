import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { send } from '../../helpers/http.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli, statusJson } from '../../helpers/phleet.js';
import { PLANES } from '../../helpers/planes.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { percentile, TrafficLoad, type Sample } from '../../helpers/traffic-load.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * Deploys under the admiral's hand through a real ship, both planes, under continuous load: a release command of 8 s
 * under `release_pause` (no request lost, none answered by the old release once the command started), a failing
 * one (back on the old release), and rollouts: 20% of fresh clients, sticky cookies, promote, abort, and an abort the
 * ship makes by itself when the new release's health check fails.
 */
interface Row {
  readonly name: string;
  readonly release: string | null;
  readonly state: string;
  readonly message: string;
  readonly processes: Record<string, number>;
  readonly pin: { release: string } | null;
  readonly traffic: { paused: unknown; rollout: { state: string; percent: number; stable: string | null } | null } | null;
}

const greetingOf = (body: string): string => /"greeting":"([^"]*)"/.exec(body)?.[1] ?? '';

// run-tests: one process per data plane (every test of this file is in this loop).
for (const plane of PLANES) {
  describe(`release_pause and rollouts through a ship (${plane} data plane)`, { timeout: 1_200_000 }, () => {
    const root = tmpDir(`sp-trd-${plane}-`);
    const dataDir = join(root, 'data');
    const app = join(root, 'app');
    const hq = join(root, 'hq');
    let ship: ShipProcess;
    // Where the release command's marks land, seen from the host: the service's volume under the sandbox
    // (<data>/volumes/<name>/data is its /var/data), the data dir itself with the process runtime.
    const marksOnHost = (): string => (plane === 'nginx' ? join(dataDir, 'data') : join(dataDir, 'volumes', 'app', 'data'));
    const row = async (): Promise<Row> => (await statusJson<{ services: Row[] }>(dataDir)).services.find((s) => s.name === 'app') as Row;
    const serves = (greeting: string, timeoutMs = 300_000): Promise<unknown> =>
      waitFor(async () => greetingOf((await send(ship.httpPort, '/app/')).body) === greeting, () => `${greeting} to serve\n${ship.output().slice(-3000)}`, timeoutMs, 200);

    const start = (): Promise<ShipProcess> =>
      startShip({ headquarters: hq, dataDir, pulse: 0.5, args: ['--data-plane', plane], env: { STARPHLEET_DRAIN_TIMEOUT: '5', ...(plane === 'nginx' ? { STARPHLEET_RUNTIME: 'process' } : {}) }, ...(ship ? { httpPort: ship.httpPort } : {}) });

    before(async () => {
      fixtureRepo('stream-app', app);
      commit(app, { '.env': 'GREETING=v0\n' });
      initRepo(hq, { 'app/orders': `autodeploy ${app}\n` });
      // The nginx plane's workers cannot reach a sandboxed instance's unix socket on this tree (its folder is the
      // sandbox user's): its instances run as processes on loopback here, which changes nothing of what is tested.
      ship = await start();
      await serves('v0', 400_000);
      // Status says serving once the plane has acknowledged the table, a moment after v0 may answer (a fresh-clone CI
      // run read release null here): the first test starts from the release status names.
      await waitFor(
        async () => {
          const r = await row();
          return r?.state === 'serving' && r.release !== null;
        },
        () => `status to name v0's release\n${ship.output().slice(-3000)}`,
        60_000,
        200,
      );
    });

    after(async () => {
      await ship?.stop();
      await killRecordedInstances(dataDir);
    });

    test('a release command of 8 s under release_pause: no request lost, none answered by the old release after it started', async () => {
      const release0 = (await row()).release;
      const syncs = (): number => (ship.output().match(/ hq \S+ -> \S+:/g) ?? []).length;
      const before = syncs();
      commit(hq, { 'app/orders': `autodeploy ${app}\nrelease_pause 60\n` });
      await waitFor(() => syncs() > before, 'HQ read');
      // release_pause changes how the next deploy runs; it is no reason to deploy.
      assert.equal((await row()).release, release0);
      const load = new TrafficLoad(ship.httpPort, '/app/', { keepAlive: 3, fresh: 3, everyMs: 10 });
      let started = 0;
      try {
        // The sandbox's /var data is <data>/data; the process runtime (nginx here) has no sandbox: the path itself.
        const marks = plane === 'nginx' ? join(dataDir, 'data') : '/var/data';
        commit(app, { Procfile: 'web: node server.js\nrelease: date +%s%3N > "$MARKS/started-v1"; sleep 8\n', '.env': `GREETING=v1\nMARKS=${marks}\n` });
        await serves('v1');
        started = Number(readFileSync(join(marksOnHost(), 'started-v1'), 'utf8').trim());
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await load.stop();
      }
      assert.ok(started > 0, 'the release command ran');
      assert.deepEqual(load.failures(), [], `${load.failures().length} of ${load.samples.length} failed`);
      const lateOld = load.samples.filter((s) => s.greeting === 'v0' && s.sentAt >= started);
      assert.deepEqual(lateOld, [], 'no request sent after the release command started was answered by the old release');
      const held = load.samples.filter((s) => s.sentAt < started + 8000 && s.doneAt > started + 7000);
      assert.ok(held.length > 0 && percentile(held.map((s) => s.doneAt - s.sentAt), 100) >= 7000, 'requests were held through the release command');
      console.log(`# ${plane}: ${load.samples.length} requests, ${load.retried} retried after a reload, 0 failed; the longest waited ${percentile(load.samples.map((s) => s.doneAt - s.sentAt), 100)} ms`);
      assert.equal((await row()).traffic, null, 'resumed');
      assert.ok(ship.output().includes('app: paused for the release phase'));
    });

    test('a failing release command under release_pause: the old release serves again, the deploy says why, nothing failed', async () => {
      const load = new TrafficLoad(ship.httpPort, '/app/');
      try {
        commit(app, { Procfile: 'web: node server.js\nrelease: sleep 2; exit 3\n', '.env': 'GREETING=v2\n' });
        await waitFor(async () => /release phase \(Procfile release: sleep 2; exit 3\) failed \(exit 3\)/.test((await row()).message), 'the failed deploy', 300_000, 250);
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures(), []);
      assert.ok(load.samples.every((s) => s.greeting === 'v1'), 'v1 answered everything');
      assert.equal((await row()).traffic, null, 'resumed');
      assert.equal(greetingOf((await send(ship.httpPort, '/app/')).body), 'v1');
    });

    test('rollout --percent 20: fresh clients land 15-25% on the new release, every cookie-bearing client stays on its side', async () => {
      commit(hq, { 'app/orders': `autodeploy ${app}\n` });
      const armed = await cli(dataDir, 'rollout', 'app', '--percent', '20');
      assert.equal(armed.code, 0, armed.stderr);
      assert.match(armed.stdout, /rollout armed/);
      commit(app, { Procfile: 'web: node server.js\n', '.env': 'GREETING=v3\n' });
      await waitFor(async () => (await row()).traffic?.rollout?.state === 'split', 'the split', 300_000, 250);
      // The table with the split reaches the plane (nginx: a reload) just after the status says so. While nginx
      // reloads, its old workers still accept for a moment (a busy machine stretches it): ten answers in a row with
      // the cookie say the new table is the only one answering.
      const cookied = async (): Promise<boolean> => ((await send(ship.httpPort, '/app/')).headers['set-cookie'] ?? []).some((c) => c.startsWith('starphleet_rollout='));
      await waitFor(async () => {
        for (let i = 0; i < 10; i++) if (!(await cookied())) return false;
        return true;
      }, 'the rollout cookie');
      let onNew = 0;
      const kept: { cookie: string; greeting: string }[] = [];
      for (let i = 0; i < 1000; i++) {
        const r = await send(ship.httpPort, '/app/');
        const g = greetingOf(r.body);
        assert.ok(g === 'v1' || g === 'v3', `answered by ${g}`);
        if (g === 'v3') onNew++;
        const cookie = (r.headers['set-cookie'] ?? []).find((c) => c.startsWith('starphleet_rollout='))?.split(';')[0];
        assert.ok(cookie, 'the plane set its cookie');
        if (i % 10 === 0) kept.push({ cookie, greeting: g });
      }
      console.log(`# ${plane}: ${onNew} of 1000 fresh clients on the new release`);
      assert.ok(onNew >= 150 && onNew <= 250, `${onNew} of 1000 on the new release`);
      for (const k of kept) for (let j = 0; j < 3; j++) assert.equal(greetingOf((await send(ship.httpPort, '/app/', { headers: { cookie: k.cookie } })).body), k.greeting);
      const r = await row();
      assert.equal(r.traffic?.rollout?.percent, 20);
      assert.match((await cli(dataDir, 'status')).stdout, /app: rollout: 20% to release \S+, the rest to \S+/);
    });

    test('promote under load: the new release serves everyone, the old one stops, nothing fails', async () => {
      const load = new TrafficLoad(ship.httpPort, '/app/');
      let promotedAt = 0;
      try {
        await new Promise((r) => setTimeout(r, 1000));
        const p = await cli(dataDir, 'rollout', 'app', 'promote');
        promotedAt = Date.now();
        assert.equal(p.code, 0, p.stderr);
        await new Promise((r) => setTimeout(r, 1500));
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures(), []);
      assert.ok(load.samples.some((s) => s.greeting === 'v1'), 'the old release served before');
      const after = load.samples.filter((s) => s.sentAt > promotedAt);
      assert.ok(after.length > 20);
      assert.deepEqual(after.filter((s) => s.greeting !== 'v3').map((s) => `${s.greeting} sent ${s.sentAt - promotedAt} ms after the promote returned`), [], 'only the new release serves after');
      const r = await row();
      assert.equal(r.traffic, null);
      assert.deepEqual(r.processes, { web: 1 });
    });

    test('abort under load: the old release serves everyone again, pinned; the new one stops; nothing fails', async () => {
      assert.equal((await cli(dataDir, 'rollout', 'app', '--percent', '50')).code, 0);
      commit(app, { '.env': 'GREETING=v4\n' });
      await waitFor(async () => (await row()).traffic?.rollout?.state === 'split', 'the split', 300_000, 250);
      const load = new TrafficLoad(ship.httpPort, '/app/');
      let abortedAt = 0;
      try {
        await waitFor(() => load.samples.some((s) => s.greeting === 'v4') && load.samples.some((s) => s.greeting === 'v3'), 'both sides answering');
        const a = await cli(dataDir, 'rollout', 'app', 'abort');
        abortedAt = Date.now();
        assert.equal(a.code, 0, a.stderr);
        assert.match(a.stdout, /pinned/);
        await new Promise((r) => setTimeout(r, 1500));
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures(), []);
      // Once the command returned (the table without the new side applied, the new side drained), only the old one.
      const settled: Sample[] = load.samples.filter((s) => s.sentAt > abortedAt);
      assert.ok(settled.length > 20);
      const late = settled.filter((s) => s.greeting !== 'v3');
      assert.deepEqual(late.map((s) => `${s.greeting} sent ${s.sentAt - abortedAt} ms after the abort returned`), [], 'only the old release after the abort');
      const r = await row();
      assert.equal(r.traffic, null);
      assert.ok(r.pin, 'pinned');
      assert.deepEqual(r.processes, { web: 1 });
    });

    test('a new release failing its health check during a rollout aborts it by itself', async () => {
      assert.equal((await cli(dataDir, 'rollout', 'app', '--percent', '50')).code, 0);
      commit(app, { '.env': 'GREETING=v5\nUNHEALTHY_AFTER_MS=6000\n' });
      await waitFor(async () => (await row()).traffic?.rollout?.state === 'split', 'the split', 300_000, 250);
      const load = new TrafficLoad(ship.httpPort, '/app/');
      try {
        await waitFor(async () => /rollout of release \S+ aborted by itself: release \S+: healthcheck \/health got no 200/.test((await row()).message), 'the abort', 60_000, 250);
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await load.stop();
      }
      assert.deepEqual(load.failures(), []);
      assert.equal(greetingOf((await send(ship.httpPort, '/app/')).body), 'v3');
      assert.equal((await row()).traffic, null);
    });

    test("app.json's scripts.release_pause (no orders verb): the release command runs under pause, nothing fails", async () => {
      const load = new TrafficLoad(ship.httpPort, '/app/');
      let started = 0;
      try {
        const marks = plane === 'nginx' ? join(dataDir, 'data') : '/var/data';
        commit(app, {
          'app.json': JSON.stringify({ scripts: { release_pause: '30s' } }),
          Procfile: 'web: node server.js\nrelease: date +%s%3N > "$MARKS/started-v6"; sleep 4\n',
          '.env': `GREETING=v6\nMARKS=${marks}\n`,
        });
        await serves('v6');
        started = Number(readFileSync(join(marksOnHost(), 'started-v6'), 'utf8').trim());
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        await load.stop();
      }
      assert.ok(started > 0, 'the release command ran');
      assert.deepEqual(load.failures(), []);
      assert.deepEqual(load.samples.filter((s) => s.greeting !== 'v6' && s.sentAt >= started).map((s) => s.greeting), [], 'nothing from the old release after the command started');
      assert.ok(percentile(load.samples.map((s) => s.doneAt - s.sentAt), 100) >= 3500, 'requests were held through the release command');
      assert.ok(ship.output().includes('app: paused for the release phase'));
      assert.equal((await row()).traffic, null, 'resumed');
    });

    test('a ship killed with SIGKILL during a rollout: restarted, it keeps the split and both releases; promote ends it', async () => {
      assert.equal((await cli(dataDir, 'rollout', 'app', '--percent', '50')).code, 0);
      commit(app, { 'app.json': '{}', Procfile: 'web: node server.js\n', '.env': 'GREETING=v7\n' });
      await waitFor(async () => (await row()).traffic?.rollout?.state === 'split', 'the split', 300_000, 250);
      const sides = async (n: number): Promise<Set<string>> => {
        const seen = new Set<string>();
        for (let i = 0; i < n; i++) seen.add(greetingOf((await send(ship.httpPort, '/app/')).body));
        return seen;
      };
      await waitFor(async () => (await sides(40)).size === 2, 'both sides answering');
      // A client with a side: its cookie, and the side every request with it gets. Status says "split" as the switch
      // starts, and the first requests that see both sides can still meet an nginx worker of the table before (it
      // sets no cookie, and sends everyone to the stable side) while the reload goes on: seen as an empty cookie here.
      let kept = '';
      let keptSide = '';
      await waitFor(async () => {
        kept = (await send(ship.httpPort, '/app/')).headers['set-cookie']?.find((c) => c.startsWith('starphleet_rollout='))?.split(';')[0] ?? '';
        if (kept === '') return false;
        const seen = new Set<string>();
        for (let i = 0; i < 5; i++) seen.add(greetingOf((await send(ship.httpPort, '/app/', { headers: { cookie: kept } })).body));
        keptSide = [...seen][0] ?? '';
        return seen.size === 1;
      }, 'a client with a rollout cookie and a side');
      const conf = join(dataDir, 'dataplane', 'nginx', 'nginx.conf');
      const confBefore = plane === 'nginx' ? readFileSync(conf, 'utf8') : '';
      await ship.kill();
      ship = await start();
      await ship.waitForLog(/rollout goes on: release \S+ adopted as its stable side/);
      const r = await row();
      assert.equal(r.traffic?.rollout?.state, 'split');
      assert.deepEqual([...(await sides(60))].sort(), ['v6', 'v7'], 'both releases serve after the restart');
      for (let j = 0; j < 5; j++) {
        const got = await send(ship.httpPort, '/app/', { headers: { cookie: kept } });
        if (greetingOf(got.body) !== keptSide) {
          const confNow = plane === 'nginx' ? readFileSync(conf, 'utf8') : '';
          const a = confBefore.split('\n');
          const b = confNow.split('\n');
          const diff = [...a.filter((l) => !b.includes(l)).map((l) => `- ${l}`), ...b.filter((l) => !a.includes(l)).map((l) => `+ ${l}`)].join('\n');
          assert.fail(`a client keeps its side across the restart: request ${j + 1} with ${kept} (${keptSide} before) answered ${greetingOf(got.body)}, headers ${JSON.stringify(got.headers)}; nginx.conf changed:\n${diff}\nnow:\n${confNow}`);
        }
      }
      const p = await cli(dataDir, 'rollout', 'app', 'promote');
      assert.equal(p.code, 0, p.stderr);
      assert.deepEqual([...(await sides(20))], ['v7']);
      assert.deepEqual((await row()).processes, { web: 1 });
    });
  });
}
