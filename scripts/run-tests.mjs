#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner, four to eight files at a time (more while the CPU idles), each
// in its own node process (the file itself, bundled once for the run by scripts/ts-loader/bundle.mjs, reporting in
// TAP). Arguments narrow the run: `npm test -- ssh` runs the files whose path contains "ssh".
// Files start in name order: started longest first, the heaviest files (updates, many ships) ran together and starved
// the others on 2 cores (ships silent for 60 s); by name they are spread out, and packing was as good (6,505 s of file
// time in 2,188 s at 3); starting the files that mostly wait first did not help (below). Unit files run in a lane of
// their own beside the rest (below). A file's output is printed whole when it ends, then a summary with each file's
// time and when it started.
// The run gets its own TMPDIR; whatever the tests leave in it (files, or processes still using it) fails the run,
// named, and is then removed: the suite leaves nothing in /tmp and nothing running.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, realpathSync, rmdirSync, rmSync, statfsSync, symlinkSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundled, bundleTests } from './ts-loader/bundle.mjs';

// How many files run side by side. Four kept 2 cores about 80% busy (697 CPU-s in 446 s): a file that waits on a
// canary window, a cron minute or a release phase's sleep holds its slot idle. So four is the floor, and while the
// machine was at least 20% idle over the last two seconds one more file starts, up to eight, three seconds apart (a
// file loads its helpers and starts a ship in its first seconds): 408 s, 675 CPU-s. Pushed harder it burned more and
// took as long or longer: at 15% idle and two seconds apart 403-419 s (696-722 CPU-s); at 10%, 1.5 s apart, 422 s
// (780); with the files that mostly wait started first and given slots of their own, nine at a time, 456 s (841).
// Each file runs longer when more share the cores, and its ships and planes burn CPU for as long as they live.
// TEST_CONCURRENCY=N runs exactly N at a time, as before.
const FIXED = process.env.TEST_CONCURRENCY ? Number(process.env.TEST_CONCURRENCY) : null;
const MIN_FILES = FIXED ?? 4;
const MAX_FILES = FIXED ?? 8;
// Start another file only when this much of the machine was idle over the last window.
const IDLE_TO_START = 0.2;
const CORES = Math.max(1, availableParallelism());
/** Busy CPU seconds of the whole machine since boot (/proc/stat: user, nice, system, irq, softirq, steal), or null. */
function machineBusySeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    return ([0, 1, 2, 5, 6, 7].reduce((a, i) => a + (f[i] ?? 0), 0)) / 100;
  } catch {
    return null;
  }
}
const runStarted = Date.now();
// A file still running after this long is hung (the slowest take about 5 minutes on CI's 2 cores): it is killed and
// fails, and the rest of the run goes on.
const FILE_TIMEOUT_MS = Number(process.env.TEST_FILE_TIMEOUT_S ?? 1200) * 1000;

function find(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'fixtures' || e.name === 'node_modules' ? [] : find(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

/** Processes whose command line or working directory is inside dir. */
function processesIn(dir) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const cmd = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0').join(' ').trim();
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${name}/cwd`);
      } catch {
        cwd = '';
      }
      if (cmd.includes(dir) || cwd.startsWith(dir)) out.push({ pid: Number(name), cmd });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Mount points inside dir (deepest first), from /proc/self/mountinfo (octal escapes as the kernel writes them). */
function mountsIn(dir) {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out = [];
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[4]?.replace(/\\([0-7]{3})/g, (_m, o) => String.fromCharCode(Number.parseInt(o, 8)));
    if (mp !== undefined && mp.startsWith(`${dir}/`)) out.push(mp);
  }
  return out.sort((a, b) => b.length - a.length);
}

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}

// A file whose every test runs once per data plane (`for (const plane of PLANES)` around all of it) and that says so
// in a comment (PER_PLANE's words) runs as one process per plane (STARPHLEET_TEST_PLANES=<plane>, as test/helpers/planes.ts
// reads it): the same tests, each plane's describe in its own process. The longest files are these (a ship per plane,
// one after the other: 50-110 s), and a long file that starts late in the run is its tail.
const PER_PLANE = 'run-tests: one process per data plane';
const PLANE_NAMES = (process.env.STARPHLEET_TEST_PLANES ?? 'embedded,nginx').split(',').map((p) => p.trim()).filter((p) => p !== '');
const jobs = files.flatMap((file) => (readFileSync(file, 'utf8').includes(PER_PLANE) ? PLANE_NAMES.map((plane) => ({ file, plane, name: `${file} [${plane}]` })) : [{ file, plane: null, name: file }]));

/**
 * Where the run's temp dir goes: SP_TEST_TMP if set, else /dev/shm when it is a tmpfs that lets programs run and has
 * 8 GiB free, else the usual temp dir. Every ship's data dir, HQ repo, build and update of the run lives there; on
 * this machine's disk (ext4 mounted with discard) creating and removing those files cost the kernel a quarter of the
 * CPU of a deploy test (two deploy files: 79 CPU-s busy with /tmp, 59 with /dev/shm). A ship's own files stay on
 * whatever disk its admiral gives it: this is where the tests keep theirs, nothing else.
 */
function runParent() {
  if (process.env.SP_TEST_TMP) return process.env.SP_TEST_TMP;
  const shm = '/dev/shm';
  try {
    const st = statfsSync(shm);
    const TMPFS_MAGIC = 0x01021994;
    const free = Number(st.bavail) * Number(st.bsize);
    const noexec = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((l) => l.split(' ')[4] === shm && /(^|,)noexec(,|$)/.test(l.split(' ')[5] ?? ''));
    if (Number(st.type) === TMPFS_MAGIC && free >= 8 * 2 ** 30 && !noexec) return shm;
  } catch {
    // No /dev/shm here.
  }
  return tmpdir();
}
/** Whether a and b (either may be unset) are one existing file. */
function sameFile(a, b) {
  if (!a || !b) return false;
  try {
    return realpathSync(a) === realpathSync(b);
  } catch {
    return false;
  }
}

const runTmp = mkdtempSync(join(runParent(), 'starphleet-tests-'));
// Passable by the sandbox user, like test/helpers/tmp.ts's dirs: ships' data dirs live below it.
chmodSync(runTmp, 0o711);
// tsx keeps its compile cache at $TMPDIR/tsx-<uid>: share the usual one, or every ship a test starts compiles the
// whole tree again (slow enough on a busy machine to miss a test's wait). The link goes with the run, not the cache.
const tsxCache = join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`);
mkdirSync(tsxCache, { recursive: true, mode: 0o700 });
symlinkSync(tsxCache, join(runTmp, `tsx-${process.getuid?.() ?? 0}`));

// NODE_EXTRA_CA_CERTS naming the very file SSL_CERT_FILE names (the system's CA bundle, as some hosts set both) makes
// every node process parse all of its certificates when it starts, before any code runs: 43 of `node -e 0`'s 67 ms of
// CPU here, and a run starts ~2,000 node processes (test files, ships, planes, CLI calls, npm in builds).
// `--use-openssl-ca` trusts that same store (OpenSSL reads SSL_CERT_FILE), read only by a process that makes a TLS
// connection; ships pass the flag on to builds as they passed NODE_EXTRA_CA_CERTS (src/settings/registry-settings.ts).
// A test that needs a CA of its own (pebble's, a test CA) still sets NODE_EXTRA_CA_CERTS for what it starts.
if (sameFile(process.env.NODE_EXTRA_CA_CERTS, process.env.SSL_CERT_FILE) && !/(^|\s)--use-bundled-ca(\s|$)/.test(process.env.NODE_OPTIONS ?? '')) {
  delete process.env.NODE_EXTRA_CA_CERTS;
  process.env.NODE_OPTIONS = [process.env.NODE_OPTIONS, '--use-openssl-ca'].filter(Boolean).join(' ');
  console.log('# NODE_EXTRA_CA_CERTS named SSL_CERT_FILE: the tests run with --use-openssl-ca instead (the same CA store)');
}

// The ships' RSA host keys, made once for the run and handed out by test/helpers/host-key-pool.ts.
process.env.SP_TEST_HOST_KEY_POOL = join(runTmp, 'host-key-pool');
// Ports handed out by test/helpers/ship.ts's freePort, one file each: files running side by side never pick the same
// one (a ship of one file lost its port to another's in a CI run, EADDRINUSE).
process.env.SP_TEST_PORTS = join(runTmp, 'test-ports');
mkdirSync(process.env.SP_TEST_PORTS, { mode: 0o700 });

// The test files and the sources they import, bundled to JavaScript once for the run (scripts/ts-loader/bundle.mjs):
// each file then runs as plain node, no hooks, no per-module compile. Under tsx a file spent 0.18-0.26 CPU-s before
// its first test; with a per-file compile cache served by module hooks 0.15 (a file with nothing to import) to 0.48
// (one importing the ship's helpers); bundled 0.08-0.16.
const BUNDLE = join(runTmp, 'ts-bundle');
const CLI_ENTRY = 'test/helpers/cli-entry.ts';
await bundleTests(process.cwd(), [...files, CLI_ENTRY], BUNDLE);
const NODE_FLAGS = ['--enable-source-maps'];

// Which code every file runs as `starphleet` (test/helpers/cli-entry.ts): decided once, so all files agree.
const testCode = spawnSync(process.execPath, [...NODE_FLAGS, '--input-type=module', '-e', `const m = await import(${JSON.stringify(pathToFileURL(bundled(BUNDLE, CLI_ENTRY)).href)}); console.log(m.TEST_CODE)`], { env: { ...process.env, TMPDIR: runTmp }, encoding: 'utf8' }).stdout.trim();
if (testCode === 'dist' || testCode === 'src') process.env.STARPHLEET_TEST_CODE = testCode;
// Ships and CLIs run src/cli.ts through tsx when dist/ is not current: compile the tree once before any file starts,
// or on a fresh clone (tsx's cache cold) the first files' ships would each compile all of src/ at once.
if (testCode !== 'dist') spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', '--version'], { env: { ...process.env, TMPDIR: runTmp }, stdio: 'ignore' });
console.log(`# the run's temp dir: ${runTmp}${runTmp.startsWith('/dev/shm/') ? ' (tmpfs)' : ''}`);
console.log(`# starphleet under test: ${testCode === 'dist' ? 'dist/cli.js (built from this checkout)' : 'src/cli.ts through tsx (dist/ is not built from this checkout)'}`);

/**
 * CPU seconds per file, from a cgroup of its own (v2 cpu.stat, or v1 cpuacct) when the runner may make one (root):
 * on 2 cores the suite is CPU-bound, so a file's CPU, not its wall time, is what it costs the others. Everything the
 * file starts is counted, daemons included, unless it moves itself to another cgroup (the ships' sandboxes do).
 */
const CPU_ROOT = ['/sys/fs/cgroup/cpuacct', '/sys/fs/cgroup'].find((d) => existsSync(join(d, d.endsWith('cpuacct') ? 'cpuacct.usage' : 'cgroup.procs')));
let cpuGroups = 0;
function cpuGroup(pid) {
  if (!CPU_ROOT) return null;
  try {
    const dir = join(CPU_ROOT, `starphleet-test-${process.pid}-${cpuGroups++}`);
    mkdirSync(dir);
    writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    return dir;
  } catch {
    return null;
  }
}
function cpuSeconds(dir) {
  if (!dir) return null;
  try {
    if (existsSync(join(dir, 'cpuacct.usage'))) return Number(readFileSync(join(dir, 'cpuacct.usage'), 'utf8')) / 1e9;
    return Number(/usage_usec (\d+)/.exec(readFileSync(join(dir, 'cpu.stat'), 'utf8'))?.[1] ?? Number.NaN) / 1e6;
  } catch {
    return null;
  }
}
/** The file's group goes once empty; what is still in it then is caught by the leftover-process check below. */
function dropGroup(dir) {
  if (!dir) return;
  try {
    rmdirSync(dir);
  } catch {
    setTimeout(() => dropGroup(dir), 5000).unref();
  }
}

const running = new Set();
let stopping = false;
// Ctrl-C or a kill of the run: every file's process group gets it, and the checks below still run.
for (const s of ['SIGINT', 'SIGTERM']) {
  process.on(s, () => {
    stopping = true;
    for (const c of running) killGroup(c, s);
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // gone
  }
}

/** Runs one file; resolves with its wall time and counts. --test-force-exit: a file whose tests are done exits even
 * if a leaked client or timer would keep it alive (processes it started are still caught at the end). The file runs
 * as the process itself, not under `node --test` (which would start a second node, the loader in both, to run it: 0.08
 * CPU-s a file); the same harness reports it in TAP and exits 1 when a test failed. */
function runFile(job) {
  const { file, plane } = job;
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, [...NODE_FLAGS, '--test-force-exit', '--test-reporter=tap', bundled(BUNDLE, file)], {
      env: { ...process.env, TMPDIR: runTmp, ...(plane === null ? {} : { STARPHLEET_TEST_PLANES: plane }) },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    running.add(child);
    const group = cpuGroup(child.pid);
    let out = '';
    child.stdout.on('data', (b) => (out += b));
    child.stderr.on('data', (b) => (out += b));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 10_000).unref();
    }, FILE_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(child);
      const seconds = (Date.now() - started) / 1000;
      const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, 'm').exec(out)?.[1] ?? 0);
      const cpu = cpuSeconds(group);
      dropGroup(group);
      const r = { file: job.name, seconds, cpu, code: code ?? 1, tests: count('tests'), pass: count('pass'), fail: count('fail'), timedOut };
      if (timedOut) out += `\nnot ok - ${job.name} timed out after ${FILE_TIMEOUT_MS / 1000} s and was killed\n`;
      else if (r.code !== 0 && r.fail === 0) out += `\nnot ok - ${job.name} exited with ${code ?? signal} and no failed test\n`;
      const from = ((started - runStarted) / 1000).toFixed(0);
      process.stdout.write(`\n# ---- ${job.name} (${seconds.toFixed(0)} s${cpu === null ? '' : `, ${cpu.toFixed(0)} s CPU`}, exit ${code ?? signal}, from +${from} s) ----\n${out}`);
      resolve(r);
    });
  });
}

const machineStart = machineBusySeconds();
// Unit files (test/unit/) are short and light: they run in a lane of their own beside the others, one at a time,
// started when the machine idles, so they fill the moments when every e2e file waits. Run after the e2e files (name
// order) they were the run's last 40 s, four at a time on a machine half idle.
const isUnit = (job) => job.file.startsWith('test/unit/');
// The per-plane runs keep their file's place in name order. Moved to the front (every other start) or spread over the
// first 60% of the queue they did no better: the four runs of those orders took 391-401 s, but the same tree in name
// order took 367 s before them and 402 s after (its files burned 14% more CPU-s an hour later; the machine was
// 81-87% busy in all of them).
const queue = jobs.filter((j) => !isUnit(j));
const units = jobs.filter(isUnit);
const UNIT_IDLE = 0.1;
const results = [];
let active = 0;
let unitsActive = 0;
let lastStart = 0;
let peak = 0;
await new Promise((done) => {
  const start = (job) => {
    active++;
    if (isUnit(job)) unitsActive++;
    else lastStart = Date.now();
    peak = Math.max(peak, active);
    void runFile(job).then((r) => {
      results.push(r);
      active--;
      if (isUnit(job)) unitsActive--;
      fill();
    });
  };
  // The next file for a slot: the e2e files first; once they have all started, the units left.
  const next = () => queue.shift() ?? units.shift();
  const left = () => queue.length + units.length;
  const fill = () => {
    while (!stopping && left() > 0 && active - (queue.length > 0 ? unitsActive : 0) < MIN_FILES) start(next());
    if (active === 0 && (left() === 0 || stopping)) {
      clearInterval(sampler);
      done();
    }
  };
  // The machine's idle share over the last two seconds, from a ring of /proc/stat samples every 500 ms.
  const samples = [];
  const sampler = setInterval(() => {
    const busy = machineBusySeconds();
    if (busy === null) return;
    samples.push({ at: Date.now(), busy });
    if (samples.length > 5) samples.shift();
    if (samples.length < 5 || stopping || left() === 0) return;
    const first = samples[0];
    const idle = 1 - (busy - first.busy) / (((Date.now() - first.at) / 1000) * CORES);
    if (queue.length > 0 && units.length > 0 && unitsActive === 0 && idle >= UNIT_IDLE) start(units.shift());
    else if (active < MAX_FILES && Date.now() - lastStart >= 3000 && idle >= IDLE_TO_START) start(next());
  }, 500);
  fill();
});
let code = results.some((r) => r.code !== 0) || results.length < jobs.length ? 1 : 0;
const sum = (k) => results.reduce((n, r) => n + r[k], 0);
const failed = results.filter((r) => r.code !== 0);
const split = new Set(jobs.filter((j) => j.plane !== null).map((j) => j.file)).size;
console.log(`\n# ==== ${results.length} of ${jobs.length} ${split > 0 ? `runs (${files.length} files, ${split} of them once per data plane)` : 'files'} in ${((Date.now() - runStarted) / 1000).toFixed(0)} s (up to ${peak} at a time): tests ${sum('tests')}, pass ${sum('pass')}, fail ${sum('fail')}`);
console.log(`# slowest: ${[...results].sort((a, b) => b.seconds - a.seconds).slice(0, 8).map((r) => `${r.file} ${r.seconds.toFixed(0)} s`).join(', ')}`);
// The whole machine's busy time over the run: the files' cgroups do not hold what moved out of them (sandboxes).
const machine = machineBusySeconds();
if (machine !== null && machineStart !== null) console.log(`# machine: ${(machine - machineStart).toFixed(0)} CPU-s busy in all (every process, sandboxes included)`);
if (results.every((r) => r.cpu !== null)) {
  console.log(`# CPU: ${sum('cpu').toFixed(0)} s in all; most: ${[...results].sort((a, b) => b.cpu - a.cpu).slice(0, 8).map((r) => `${r.file} ${r.cpu.toFixed(0)} s`).join(', ')}`);
}
if (failed.length > 0) console.log(`# failed files: ${failed.map((r) => r.file + (r.timedOut ? ' (timed out)' : '')).join(', ')}`);

const procs = processesIn(runTmp);
if (procs.length > 0) {
  console.error(`\nthe tests left ${procs.length} process(es) running (now killed):\n${procs.map((p) => `  ${p.pid} ${p.cmd.slice(0, 200)}`).join('\n')}`);
  for (const p of procs) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  code ||= 1;
}
// A root ship's service volumes are mounted in its data dir: a test that did not release them (killed, or its
// cleanup failed) would make the removal below fail with EBUSY, and rm must never descend into a mount.
const mounts = mountsIn(runTmp);
if (mounts.length > 0) {
  console.error(`\nthe tests left ${mounts.length} mount(s) in the temp dir (now unmounted): ${mounts.join(', ')}`);
  for (const m of mounts) spawnSync('umount', ['-l', m], { stdio: 'ignore' });
  code ||= 1;
}
// tsx's compile cache, the bundled tests and the host key pool are the runner's own, not a test's.
const left = readdirSync(runTmp).filter((n) => !n.startsWith('tsx-') && n !== 'ts-bundle' && n !== 'host-key-pool' && n !== 'test-ports');
if (left.length > 0) {
  console.error(`\nthe tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temp dir (now removed): ${left.join(', ')}`);
  code ||= 1;
}
if (!process.env.KEEP_TMP) rmSync(runTmp, { recursive: true, force: true });
process.exit(code);
