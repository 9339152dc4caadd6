/**
 * npm run sim:phleet -- --ships 20: a phleet on one machine, measured (issue 37).
 *
 * N ships, each in a network namespace of its own with its own address on a bridge this run makes (netns.ts), follow
 * one HQ served by `git daemon` from the host (every request counted there), with STARPHLEET_RUNTIME=process for
 * their instances. The run commits (a service repo, then HQ), partitions a third of the ships from HQ with an
 * nftables table of its own, commits again, heals, and measures with a load client per ship: commit-to-serving on
 * every ship, HQ requests per minute, write-back retries, what each partitioned ship served meanwhile, placement, and
 * then the CPU share of an idle ship with 100 services. Everything it made is removed at the end (or on Ctrl-C).
 * Root only (ip netns, nft).
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { callShip } from '../../src/commands/control/control-client.js';
import { fixtureRepo } from '../../test/helpers/fixtures.js';
import { startGitDaemon, type GitDaemon } from '../../test/helpers/git-daemon.js';
import { commit, gitIn } from '../../test/helpers/git.js';
import { killRecordedInstances } from '../../test/helpers/instances.js';
import { PushableHq } from '../../test/helpers/phleet-hq.js';
import { startShip, type ShipProcess } from '../../test/helpers/ship.js';
import { TEST_CODE } from '../../test/helpers/cli-entry.js';
import { sleep } from '../../test/helpers/wait.js';
import { createSimNet, type SimNet } from './netns.js';
import { ShipProbe } from './probe.js';
import { idleShipCpu, type IdleResult } from './idle-ship.js';
import { loadAverage, percentile, summary, table } from './stats.js';

const { values: argv } = parseArgs({
  options: {
    ships: { type: 'string', default: '20' },
    pulse: { type: 'string', default: '5' },
    'partition-seconds': { type: 'string', default: '60' },
    'idle-seconds': { type: 'string', default: '60' },
    'idle-services': { type: 'string', default: '100' },
    'skip-idle-ship': { type: 'boolean', default: false },
  },
});
const N = Number(argv.ships);
const PULSE = Number(argv.pulse);
const PARTITION_S = Number(argv['partition-seconds']);
const IDLE_S = Number(argv['idle-seconds']);
const GIT_PORT = 9418;
const report: string[] = [];
const say = (line: string): void => {
  process.stdout.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
};

interface SimShip {
  readonly n: number;
  readonly name: string;
  readonly tags: readonly string[];
  readonly process: ShipProcess;
  readonly probe: ShipProbe;
}

async function status<T>(dataDir: string): Promise<T> {
  let out = '';
  const code = await callShip(dataDir, ['status', '--json'], { out: (s) => (out += s), err: () => {} });
  if (code !== 0) throw new Error(`status of ${dataDir} failed`);
  return JSON.parse(out) as T;
}

async function until(what: string, fn: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 500): Promise<number> {
  const t0 = Date.now();
  for (;;) {
    if (await fn()) return Date.now() - t0;
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** `<ISO> <service>: deploying ... ` then `<ISO> <service>: release ... serves`: each deploy's build-and-start time. */
function deploySeconds(output: string, service: string, since: number): number[] {
  const out: number[] = [];
  let start: number | null = null;
  for (const line of output.split('\n')) {
    const m = /^(\S+Z) (\S+): (deploying|release \S+ \(\S+\) serves)/.exec(line);
    if (!m || m[2] !== service) continue;
    const t = Date.parse(m[1] as string);
    if (t < since) continue;
    if (m[3] === 'deploying') start = t;
    else if (start !== null) {
      out.push((t - start) / 1000);
      start = null;
    }
  }
  return out;
}

/** One commit, timed on every ship given: seconds from the commit until its load client first saw the greeting. */
async function converge(ships: readonly SimShip[], greeting: string, committedAt: number, timeoutMs: number): Promise<{ ship: SimShip; seconds: number; build: number | null }[]> {
  await until(`${ships.length} ships to serve ${greeting}`, () => ships.every((s) => s.probe.firstServed(greeting, committedAt) !== null), timeoutMs);
  return ships.map((ship) => {
    const seconds = ((ship.probe.firstServed(greeting, committedAt) as number) - committedAt) / 1000;
    const builds = deploySeconds(ship.process.output(), 'app', committedAt - 1000);
    return { ship, seconds, build: builds[0] ?? null };
  });
}

function convergeRow(label: string, r: readonly { seconds: number; build: number | null }[]): string[] {
  const secs = r.map((x) => x.seconds);
  const over = r.filter((x) => x.build !== null).map((x) => x.seconds - (x.build as number));
  const builds = r.filter((x) => x.build !== null).map((x) => x.build as number);
  return [label, summary(secs), `build+start ${summary(builds)}`, `beyond the build: p95 ${percentile(over, 95).toFixed(1)}s (goal <= pulse + 5 = ${PULSE + 5}s)`];
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the simulation needs root (ip netns, nft)');
  if (!Number.isInteger(N) || N < 1) throw new Error('--ships N: a whole number');
  const root = mkdtempSync(join(tmpdir(), 'spsim-'));
  const started = Date.now();
  let net: SimNet | null = null;
  let daemon: GitDaemon | null = null;
  const ships: SimShip[] = [];
  let idle: IdleResult | null = null;
  let cleaning: Promise<void> | null = null;
  const cleanup = (): Promise<void> =>
    (cleaning ??= (async () => {
      await Promise.all(ships.map((s) => s.probe.stop()));
      await Promise.all(ships.map((s) => s.process.stop().catch(() => null)));
      for (const s of ships) await killRecordedInstances(s.process.dataDir).catch(() => {});
      await daemon?.stop();
      net?.remove();
      rmSync(root, { recursive: true, force: true });
    })());
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => void cleanup().then(() => process.exit(130)));
  try {
    net = await createSimNet(N + 1);
    say(`run ${net.id}: ${N} ships (+1 for the idle ship) on bridge spb-${net.id}, HQ at git://${net.hostAddress}:${GIT_PORT}/, code from ${TEST_CODE}, load ${loadAverage()}`);
    const repos = join(root, 'repos');
    mkdirSync(repos);
    fixtureRepo('stream-app', join(repos, 'app'));
    const git = (path: string): string => `git://${net?.hostAddress}:${GIT_PORT}/${path}`;
    const edgeShips = Math.max(1, Math.floor(N / 4));
    const hq = new PushableHq(repos, { 'app/orders': `autodeploy ${git('app')}\n`, 'edge/orders': `autodeploy ${git('app')}\non edge\n` });
    daemon = await startGitDaemon(repos, { host: net.hostAddress, port: GIT_PORT });
    for (let n = 0; n < N; n++) {
      const name = `sim${String(n).padStart(2, '0')}`;
      const tags = n < edgeShips ? ['edge'] : [];
      const p = await startShip({
        headquarters: git('hq.git'),
        dataDir: join(root, `data-${name}`),
        pulse: PULSE,
        sshPort: 2222,
        httpPort: 8080,
        wrap: net.enter(n),
        args: ['--listen', net.address(n), '--name', name, ...tags.flatMap((t) => ['--tag', t])],
        env: { STARPHLEET_RUNTIME: 'process' },
      });
      ships.push({ n, name, tags, process: p, probe: new ShipProbe(net.address(n), 8080, '/app/') });
      await sleep(500);
    }
    const coldStart = await until('every ship to serve /app/', () => ships.every((s) => s.probe.samples.some((x) => x.status === 200)), 30 * 60_000, 1000);
    say(`all ${N} ships serve /app/ after ${(coldStart / 1000).toFixed(0)} s; load ${loadAverage()}`);
    await until('every entry in ships/', () => hq.ships().length === N, 10 * 60_000, 1000);
    await sleep(PULSE * 2000);

    // A service repo commit: each ship finds it with its batched ls-remote of the app repo.
    const appCommit = Date.now();
    commit(join(repos, 'app'), { '.env': 'GREETING=service-commit\n' }, 'greeting from the repo');
    const serviceRound = await converge(ships, 'service-commit', appCommit, 20 * 60_000);
    say(`service commit: ${summary(serviceRound.map((r) => r.seconds))}`);
    await sleep(PULSE * 2000);

    // An HQ commit: found by the one ls-remote of HQ per pulse, fetched, read.
    const hqCommit = Date.now();
    hq.commit({ 'app/orders': `autodeploy ${git('app')}\nexport GREETING=hq-commit\n` }, 'greeting from HQ');
    const hqRound = await converge(ships, 'hq-commit', hqCommit, 20 * 60_000);
    say(`HQ commit: ${summary(hqRound.map((r) => r.seconds))}`);

    // Idle: requests at the git server over a quiet window, once no ship has written ships/ for three pulses.
    const lastPush = (): number => daemon?.requests().filter((r) => r.service === 'receive-pack').at(-1)?.at ?? 0;
    await until('no write-back for three pulses', () => Date.now() - lastPush() > PULSE * 3000, 10 * 60_000, 1000);
    const quietFrom = daemon.requests().length;
    const quietStart = Date.now();
    say(`measuring HQ requests over ${IDLE_S} s of nothing happening`);
    await sleep(IDLE_S * 1000);
    const quiet = daemon.requests().slice(quietFrom);
    const minutes = (Date.now() - quietStart) / 60_000;
    const hqPerMin = quiet.filter((r) => r.path === '/hq.git').length / minutes;
    const quietPushes = quiet.filter((r) => r.service === 'receive-pack').length;
    const appPerMin = quiet.filter((r) => r.path === '/app').length / minutes;

    // Partition a third of the ships from HQ's git host (their service repo too: same host).
    const cut = ships.slice(0, Math.max(1, Math.floor(N / 3)));
    const kept = ships.slice(cut.length);
    net.partition(cut.map((s) => s.n), GIT_PORT);
    const cutAt = Date.now();
    say(`partitioned ${cut.map((s) => s.name).join(', ')} from HQ`);
    await sleep(PULSE * 2000);
    const partCommit = Date.now();
    hq.commit({ 'app/orders': `autodeploy ${git('app')}\nexport GREETING=during-partition\n` }, 'a commit while some ships are cut off');
    const partRound = await converge(kept, 'during-partition', partCommit, 20 * 60_000);
    say(`commit during the partition, reachable ships: ${summary(partRound.map((r) => r.seconds))}`);
    await until('the partition time', () => Date.now() - cutAt >= PARTITION_S * 1000, PARTITION_S * 1000 + 1000);
    const cutStatus = await Promise.all(cut.map((s) => status<{ ship: { headquarters: { contact: { failingSince: string | null; failures: number; kind: string | null; checkingSince?: string | null } | null } } }>(s.process.dataDir)));
    let phleetStatus = '';
    await callShip(kept[0]?.process.dataDir ?? '', ['phleet', 'status'], { out: (s) => (phleetStatus += s), err: (s) => (phleetStatus += s) });
    const shownCut = cut.filter((s) => new RegExp(`^${s.name} +[0-9a-f]{7} +(CANNOT REACH HQ since|no answer from HQ for)`, 'm').test(phleetStatus)).length;
    const healAt = Date.now();
    net.heal();
    say('healed');
    const healRound = await converge(cut, 'during-partition', healAt, 20 * 60_000);
    say(`catch-up after the heal: ${summary(healRound.map((r) => r.seconds))}`);
    await sleep(PULSE * 3000);

    // Write-back: lost push races over the whole run.
    const wb = await Promise.all(ships.map((s) => status<{ ship: { writeBack: { writes: number; retries: number; maxRetries: number; gaveUp: number } | null } }>(s.process.dataDir)));
    const retries = wb.map((w) => w.ship.writeBack?.retries ?? 0);
    const maxRetries = Math.max(...wb.map((w) => w.ship.writeBack?.maxRetries ?? 0));
    const gaveUp = wb.reduce((a, w) => a + (w.ship.writeBack?.gaveUp ?? 0), 0);
    const writes = wb.reduce((a, w) => a + (w.ship.writeBack?.writes ?? 0), 0);
    const merges = Number(gitIn(hq.bare, 'rev-list', '--count', '--merges', 'master'));
    const shipsCommits = Number(gitIn(hq.bare, 'rev-list', '--count', 'master', '--', 'ships'));

    // Placement: edge only where tagged.
    const edge = await Promise.all(ships.map(async (s) => (await status<{ services: { name: string; state: string }[] }>(s.process.dataDir)).services.some((v) => v.name === 'edge' && v.state === 'serving')));
    const edgeRight = ships.every((s, i) => edge[i] === s.tags.includes('edge'));

    const everything = daemon.requests().filter((r) => r.path === '/hq.git' && r.at >= started);
    const allHq = everything.length;
    const allPushes = everything.filter((r) => r.service === 'receive-pack').length;
    const runMinutes = (Date.now() - started) / 60_000;
    // Counted from each ship's first answer of the service on: before it, the ship was starting (nothing to fail).
    const failed = ships.flatMap((s) => s.probe.failuresBetween(s.probe.samples.find((x) => x.status === 200)?.at ?? Infinity, Date.now()).map((f) => `${s.name} ${new Date(f.at).toISOString().slice(11, 23)} ${f.failure ?? ''}`));
    const requests = ships.reduce((a, s) => a + s.probe.samples.length, 0);
    await Promise.all(ships.map((s) => s.probe.stop()));
    const partRows = cut.map((s, i) => {
      const during = s.probe.samples.filter((x) => x.at >= cutAt && x.at <= healAt);
      const greetings = [...new Set(during.map((x) => x.greeting ?? `HTTP ${x.status}`))].join(', ');
      const c = cutStatus[i]?.ship.headquarters.contact;
      return [s.name, `${during.length} requests`, `${during.filter((x) => x.failure !== null).length} failed`, `served: ${greetings}`, c?.failingSince ? `status: cannot reach HQ (${c.failures} tries, ${c.kind})` : c?.checkingSince ? `status: waiting for HQ since ${c.checkingSince}` : 'status: NOT failing'];
    });
    say('stopping the phleet');
    await Promise.all(ships.map((s) => s.process.stop()));
    for (const s of ships) await killRecordedInstances(s.process.dataDir);

    if (!argv['skip-idle-ship']) {
      say(`the idle ship: ${argv['idle-services']} services`);
      idle = await idleShipCpu({ root, repos, net, n: N, git, services: Number(argv['idle-services']), pulse: PULSE, seconds: IDLE_S, say, daemon });
    }

    report.push(
      `phleet of ${N} ships, pulse ${PULSE} s, STARPHLEET_RUNTIME=process, code from ${TEST_CODE}; run ${Math.round((Date.now() - started) / 60_000)} min; load average at the end ${loadAverage()} (2 cores, shared)`,
      '',
      table([
        ['commit', 'commit-to-serving', 'of which build+start', 'beyond the build'],
        convergeRow(`service repo (${N} ships)`, serviceRound),
        convergeRow(`HQ (${N} ships)`, hqRound),
        convergeRow(`HQ, during the partition (${kept.length} reachable)`, partRound),
        convergeRow(`catch-up after the heal (${cut.length} cut; from the heal)`, healRound),
      ]),
      '',
      `HQ requests at the git server, idle (${quietPushes} write-backs in the window): ${hqPerMin.toFixed(1)}/min for ${N} ships = ${(hqPerMin / N).toFixed(2)} per ship per minute (goal <= 60/pulse = ${(60 / PULSE).toFixed(1)}); service repo: ${(appPerMin / N).toFixed(2)} per ship per minute`,
      `HQ requests over the whole run (deploys, write-backs, the partition): ${(allHq / runMinutes).toFixed(1)}/min = ${(allHq / runMinutes / N).toFixed(2)} per ship per minute (${allPushes} pushes)`,
      `write-back: ${writes} writes, ${retries.reduce((a, b) => a + b, 0)} lost races in all, at most ${maxRetries} in one write, ${gaveUp} rounds given up; ${shipsCommits} commits to ships/, ${merges} merges (linear: ${merges === 0 ? 'yes' : 'NO'})`,
      `placement: edge (on edge) serves on exactly the ${edgeShips} tagged ships: ${edgeRight ? 'yes' : 'NO'}`,
      `load clients: ${requests} requests to ${N} ships, ${failed.length} failed once the ship served${failed.length ? `: ${failed.slice(0, 5).join('; ')}${failed.length > 5 ? '; ...' : ''}` : ''}`,
      '',
      `partition: ${cut.length} ships cut from HQ for ${Math.round((healAt - cutAt) / 1000)} s; phleet status on ${kept[0]?.name} showed ${shownCut} of them as cut from HQ (CANNOT REACH HQ, or no answer for 10 s and more)`,
      table(partRows),
      '',
      idle ? `idle ship with ${idle.services} services (${idle.repos} repos): ship ${(idle.shipShare * 100).toFixed(2)}% of a core (with its git children), data plane ${(idle.planeShare * 100).toFixed(2)}%, over ${idle.seconds} s; ${idle.requestsPerMin.toFixed(1)} git requests/min; all serving after ${idle.readySeconds.toFixed(0)} s (goal < 3%)` : 'idle ship: skipped',
    );
  } finally {
    await cleanup();
  }
  process.stdout.write(`\n${report.join('\n')}\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`sim:phleet failed: ${(e as Error).stack ?? String(e)}\n`);
  if (report.length) process.stdout.write(`${report.join('\n')}\n`);
  process.exit(1);
});
