import { join } from 'node:path';
import { callShip } from '../../src/commands/control/control-client.js';
import { readPlaneRecord } from '../../src/dataplane/ship-side/plane-record.js';
import { fixtureRepo } from '../../test/helpers/fixtures.js';
import type { GitDaemon } from '../../test/helpers/git-daemon.js';
import { gitIn, initRepo } from '../../test/helpers/git.js';
import { killRecordedInstances } from '../../test/helpers/instances.js';
import { startShip } from '../../test/helpers/ship.js';
import { sleep } from '../../test/helpers/wait.js';
import type { SimNet } from './netns.js';
import { cpuSeconds, loadAverage } from './stats.js';

export interface IdleResult {
  readonly services: number;
  readonly repos: number;
  readonly seconds: number;
  /** CPU seconds per second of the ship process (with the children it waited for: git). */
  readonly shipShare: number;
  readonly planeShare: number;
  readonly requestsPerMin: number;
  readonly readySeconds: number;
}

/**
 * One ship in a namespace of its own with `services` services (a small Python web app from the Procfile, four
 * services per repository: each repo is polled once for all of them), all serving; then nothing happens for `seconds`
 * while its CPU time is read from /proc before and after. The git requests it makes meanwhile are counted at the server.
 */
export async function idleShipCpu(o: {
  readonly root: string;
  readonly repos: string;
  readonly net: SimNet;
  readonly n: number;
  readonly git: (path: string) => string;
  readonly services: number;
  readonly pulse: number;
  readonly seconds: number;
  readonly daemon: GitDaemon;
  readonly say: (line: string) => void;
}): Promise<IdleResult> {
  const repoCount = Math.max(1, Math.ceil(o.services / 4));
  for (let r = 0; r < repoCount; r++) fixtureRepo('procfile-app', join(o.repos, `py${r}`));
  const files: Record<string, string> = {};
  for (let i = 0; i < o.services; i++) files[`s${String(i).padStart(3, '0')}/orders`] = `autodeploy ${o.git(`py${i % repoCount}`)}\n`;
  // Bare, as a git host keeps it: the ship writes its ships/ entry back there like any ship.
  initRepo(join(o.root, 'hq100-seed'), files);
  gitIn(o.root, 'clone', '-q', '--bare', join(o.root, 'hq100-seed'), join(o.repos, 'hq100.git'));
  const dataDir = join(o.root, 'data-idle');
  const ship = await startShip({
    headquarters: o.git('hq100.git'),
    dataDir,
    pulse: o.pulse,
    sshPort: 2222,
    httpPort: 8080,
    wrap: o.net.enter(o.n),
    args: ['--listen', o.net.address(o.n), '--name', 'idle'],
    env: { STARPHLEET_RUNTIME: 'process', STARPHLEET_MAX_DEPLOYS: '4' },
  });
  try {
    const t0 = Date.now();
    for (;;) {
      if (ship.child.exitCode !== null) throw new Error(`the idle ship exited (${ship.child.exitCode}):\n${ship.output().slice(-2000)}`);
      let out = '';
      const code = await callShip(dataDir, ['status', '--json'], { out: (s) => (out += s), err: () => {} }).catch(() => 1);
      const serving = code === 0 ? (JSON.parse(out) as { services: { state: string }[] }).services.filter((s) => s.state === 'serving').length : 0;
      if (serving === o.services) break;
      if (Date.now() - t0 > 60 * 60_000) throw new Error(`the idle ship serves ${serving} of ${o.services} services after an hour`);
      await sleep(5000);
    }
    const readySeconds = (Date.now() - t0) / 1000;
    o.say(`idle ship: ${o.services} services serving after ${readySeconds.toFixed(0)} s; settling; load ${loadAverage()}`);
    await sleep(o.pulse * 4000);
    const pid = ship.child.pid as number;
    const plane = readPlaneRecord(dataDir)?.pid ?? null;
    const from = o.daemon.requests().length;
    const a = { ship: cpuSeconds(pid), plane: plane ? cpuSeconds(plane) : 0, at: Date.now() };
    await sleep(o.seconds * 1000);
    const b = { ship: cpuSeconds(pid), plane: plane ? cpuSeconds(plane) : 0, at: Date.now() };
    const wall = (b.at - a.at) / 1000;
    const requests = o.daemon.requests().length - from;
    return { services: o.services, repos: repoCount, seconds: Math.round(wall), shipShare: (b.ship - a.ship) / wall, planeShare: (b.plane - a.plane) / wall, requestsPerMin: requests / (wall / 60), readySeconds };
  } finally {
    await ship.stop();
    await killRecordedInstances(dataDir);
  }
}
