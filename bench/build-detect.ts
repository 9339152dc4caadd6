/**
 * What detecting the built-in buildpacks costs a build (issue 33), on this host's real sandbox:
 *  1. a Procfile-only app (test/fixtures/procfile-app) built --runs times by buildRelease (after one build not
 *     counted: the service's volume is made then): CPU and wall time per build, and the sandboxes each started;
 *  2. side by side on the same app: the built-ins detected as a build detects them (selectBuildpacks, no buildpack
 *     named) vs each built-in's bin/detect in a sandbox of its own, in order until one applies (how a build detected
 *     them before issue 33), --runs times each, alternating: CPU per detection, sandboxes, and the ratio.
 * CPU is this process's and that of every child it waited for (/proc/self/stat fields 14-17): the sandboxes'
 * launchers, bwrap and the scripts count. Run it alone: the machine's other load does not count, but it slows all.
 *
 *   npm run bench:build-detect [-- --runs 5]
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { buildRelease } from '../src/agent/releases/build-release.js';
import { selectBuildpacks } from '../src/agent/releases/buildpacks.js';
import { procStat } from '../src/util/proc-stat.js';
import { countBuildSteps, detectContext, detectEachAlone } from '../test/helpers/build-steps.js';
import { fixtureRepo } from '../test/helpers/fixtures.js';
import { tmpDir } from '../test/helpers/tmp.js';

const args = process.argv.slice(2);
const i = args.indexOf('--runs');
const RUNS = i >= 0 ? Number(args[i + 1]) : 5;
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** CPU ms of this process and its waited-for children so far. */
function cpuMs(): number {
  const s = procStat(process.pid);
  if (s === null) throw new Error('cannot read /proc/self/stat');
  return (s.cpuTicks.self + s.cpuTicks.children) * TICK_MS;
}

async function measure(what: () => Promise<unknown>): Promise<{ cpu: number; wall: number }> {
  const cpu0 = cpuMs();
  const t0 = performance.now();
  await what();
  return { cpu: cpuMs() - cpu0, wall: performance.now() - t0 };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 === 1 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};
const ms = (x: number): string => `${Math.round(x)} ms`;

async function main(): Promise<void> {
  const root = tmpDir('sp-bench-detect-');
  const repo = join(root, 'repo');
  const sha = fixtureRepo('procfile-app', repo);
  const dataDir = join(root, 'data');
  const steps = countBuildSteps(dataDir);
  const input = { service: 'bench', giturl: repo, sha, ordersEnv: {}, hqEnv: {}, shipName: 'bench' };
  const build = (): Promise<unknown> => buildRelease(input, { dataDir, access: {}, log: () => {} });
  await build();
  const builds: { cpu: number; wall: number; steps: number }[] = [];
  for (let n = 0; n < RUNS; n++) {
    await steps.count();
    const m = await measure(build);
    builds.push({ ...m, steps: await steps.count() });
  }
  console.log(`1. procfile-app built ${RUNS} times: CPU per build ${ms(median(builds.map((b) => b.cpu)))} (median; ${builds.map((b) => Math.round(b.cpu)).join(', ')}), wall ${ms(median(builds.map((b) => b.wall)))}, sandboxes per build ${builds.map((b) => b.steps).join(', ')}`);

  const { ctx, buildDir } = await detectContext(dataDir, join(root, 'detect-work'));
  const app = join(buildDir, 'procfile-app');
  mkdirSync(app);
  writeFileSync(join(app, 'Procfile'), 'web: python3 server.py\n');
  const once: { cpu: number; steps: number }[] = [];
  const alone: { cpu: number; steps: number }[] = [];
  for (let n = 0; n < RUNS; n++) {
    await steps.count();
    let chosen = '';
    const a = await measure(async () => (chosen = (await selectBuildpacks(app, root, [], { dataDir, access: {} }, ctx)).map((b) => b.name).join()));
    once.push({ cpu: a.cpu, steps: await steps.count() });
    let each: string | null = '';
    const b = await measure(async () => (each = await detectEachAlone(app, ctx)));
    alone.push({ cpu: b.cpu, steps: await steps.count() });
    if (chosen !== each) throw new Error(`the build detected ${chosen}, each bin/detect alone ${String(each)}`);
  }
  steps.close();
  const o = median(once.map((x) => x.cpu));
  const e = median(alone.map((x) => x.cpu));
  console.log(`2. detecting procfile-app, median of ${RUNS}: as a build does ${ms(o)} CPU (${once[0]?.steps} sandboxes), each bin/detect alone ${ms(e)} CPU (${alone[0]?.steps} sandboxes): ratio ${(o / e).toFixed(2)}`);
}

await main();
