/**
 * What an idle ship costs when it follows repos on its own machine: the example's layout (a non-bare HQ checkout
 * given as a path, one service `autodeploy file://<repo>`), a ship at `--pulse 0.5`, and once it serves, a window of
 * `--seconds` (60) read from /proc: the ship's own CPU (utime+stime), its reaped children's (cutime+cstime: git and
 * the other short-lived commands it runs) and its live descendants' (data plane, instance). A second run under
 * `strace -ff -e trace=execve` (successful execs only: execvp's misses on PATH are not counted) counts the git processes the ship started in the same window (strace slows what it
 * traces, so its CPU is not reported).
 *
 *   node --import tsx bench/idle-ship-git.ts [--seconds 60] [--pulse 0.5] [--cpu | --count]
 *
 * Uses dist/ when it is built from HEAD (as the tests do). Run as root, as the tests' ships are.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { commit, gitIn, initRepo } from '../test/helpers/git.js';
import { killRecordedInstances } from '../test/helpers/instances.js';
import { httpGet } from '../test/helpers/phleet.js';
import { startShip, type ShipProcess } from '../test/helpers/ship.js';
import { tmpDir } from '../test/helpers/tmp.js';
import { sleep, waitFor } from '../test/helpers/wait.js';

const args = process.argv.slice(2);
const opt = (name: string, dflt: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const SECONDS = opt('seconds', 60);
const PULSE = opt('pulse', 0.5);
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const TICK = 100; // USER_HZ on Linux

function stat(pid: number): { ppid: number; own: number; reaped: number } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces and parentheses): state is field 3.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ').map(Number);
    return { ppid: f[1] as number, own: (f[11] as number) + (f[12] as number), reaped: (f[13] as number) + (f[14] as number) };
  } catch {
    return null;
  }
}

/** CPU ticks of every live descendant of `root` (not counting root), by pid. */
function descendants(root: number): Map<number, number> {
  const parent = new Map<number, { ppid: number; own: number }>();
  for (const n of readdirSync('/proc')) {
    if (!/^\d+$/.test(n)) continue;
    const s = stat(Number(n));
    if (s) parent.set(Number(n), s);
  }
  const out = new Map<number, number>();
  const isUnder = (pid: number): boolean => {
    for (let p = parent.get(pid)?.ppid, hops = 0; p !== undefined && hops < 64; p = parent.get(p)?.ppid, hops++) if (p === root) return true;
    return false;
  };
  for (const [pid, s] of parent) if (isUnder(pid)) out.set(pid, s.own);
  return out;
}

function setUp(): string {
  const base = tmpDir('sp-bench-idle-');
  const hello = join(base, 'hello');
  initRepo(hello, { 'package.json': readFileSync(join(ROOT, 'examples/services/hello/package.json'), 'utf8'), 'server.js': readFileSync(join(ROOT, 'examples/services/hello/server.js'), 'utf8') });
  const hq = join(base, 'hq');
  initRepo(hq, { 'hello/orders': `autodeploy file://${hello}\n` });
  // As the example does: the ship's write-back push to a checkout is taken.
  gitIn(hq, 'config', 'receive.denyCurrentBranch', 'updateInstead');
  commit(hq, { README: 'bench\n' }, 'second');
  return hq;
}

async function serving(ship: ShipProcess): Promise<void> {
  await waitFor(async () => (await httpGet(ship.httpPort, '/hello/').catch(() => ({ status: 0 }))).status === 200, 'hello served', 300_000, 500);
  await sleep(10_000); // the first deploy's tail (write-back, health) settles
}

async function cpuRun(hq: string): Promise<void> {
  const ship = await startShip({ headquarters: hq, dataDir: tmpDir('sp-bench-idle-data-'), pulse: PULSE });
  try {
    await serving(ship);
    const pid = ship.child.pid as number;
    const a = stat(pid);
    const da = descendants(pid);
    await sleep(SECONDS * 1000);
    const b = stat(pid);
    const db = descendants(pid);
    if (!a || !b) throw new Error('the ship exited during the window');
    let live = 0;
    for (const [p, t] of db) if (da.has(p)) live += t - (da.get(p) as number);
    const pct = (ticks: number): string => `${((ticks / TICK / SECONDS) * 100).toFixed(2)}% of a core (${(ticks / TICK).toFixed(2)} CPU-s)`;
    console.log(`ship own:           ${pct(b.own - a.own)}`);
    console.log(`ship reaped children: ${pct(b.reaped - a.reaped)}`);
    console.log(`ship + reaped:      ${pct(b.own - a.own + b.reaped - a.reaped)}`);
    console.log(`live descendants:   ${pct(live)} (${db.size} processes)`);
  } finally {
    await ship.stop();
    await killRecordedInstances(ship.dataDir);
  }
}

/** The ship strace started (strace's one child): strace detaches from it when signalled, so it is stopped itself. */
function tracedShip(stracePid: number): number | null {
  for (const n of readdirSync('/proc')) if (/^\d+$/.test(n) && stat(Number(n))?.ppid === stracePid) return Number(n);
  return null;
}

async function countRun(hq: string): Promise<void> {
  // One file per process (-ff): no call is split by another's, so each exec and its result are on one line.
  const dir = tmpDir('sp-bench-idle-strace-');
  const ship = await startShip({ headquarters: hq, dataDir: tmpDir('sp-bench-idle-data-'), pulse: PULSE, wrap: ['strace', '-ff', '-qq', '-ttt', '--seccomp-bpf', '-e', 'trace=execve', '-e', 'signal=none', '-o', join(dir, 'x')] });
  try {
    await serving(ship);
    const from = Date.now() / 1000;
    await sleep(SECONDS * 1000);
    const to = Date.now() / 1000;
    const lines = readdirSync(dir)
      .flatMap((f) => readFileSync(join(dir, f), 'utf8').split('\n'))
      .filter((l) => / = 0$/.test(l) && Number(l.split(' ')[0]) >= from && Number(l.split(' ')[0]) < to);
    const gits = lines.filter((l) => /execve\("[^"]*\/git", \["git"/.test(l));
    const bySub = new Map<string, number>();
    for (const l of gits) {
      // ls-remote by the repo it asked (its last path component), the other commands by name.
      const m = /\["git", (?:"-c", "[^"]*", )*"([^"]+)"(?:, "--", "([^"]+)")?/.exec(l);
      const sub = m?.[1] === 'ls-remote' && m[2] ? `ls-remote ${m[2].split('/').pop()}` : (m?.[1] ?? '?');
      bySub.set(sub, (bySub.get(sub) ?? 0) + 1);
    }
    console.log(`git processes started in ${SECONDS} s: ${gits.length} (${[...bySub].map(([k, v]) => `${k} ${v}`).join(', ')}); every successful exec: ${lines.length}`);
  } finally {
    const shipPid = tracedShip(ship.child.pid as number);
    if (shipPid !== null) process.kill(shipPid, 'SIGTERM');
    await ship.stop();
    await killRecordedInstances(ship.dataDir);
  }
}

const hq = setUp();
console.log(`idle ship, pulse ${PULSE} s, ${SECONDS} s window, HQ a checkout by path, one service by file:// URL`);
const only = args.includes('--cpu') ? 'cpu' : args.includes('--count') ? 'count' : 'both';
if (only !== 'count') await cpuRun(hq);
if (only !== 'cpu') await countRun(hq);
