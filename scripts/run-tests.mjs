#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (tsx for TypeScript). Node 20's --test takes no globs, so the
// files are listed here. Arguments narrow the run: `npm test -- ssh` runs the files whose path contains "ssh".
// The run gets its own TMPDIR; whatever the tests leave in it (files, or processes still using it) fails the run,
// named, and is then removed: the suite leaves nothing in /tmp and nothing running.
import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

const filters = process.argv.slice(2);
const files = find('test').filter((f) => filters.length === 0 || filters.some((x) => f.includes(x))).sort();
if (files.length === 0) {
  console.error(`no test files match ${filters.join(' ')}`);
  process.exit(1);
}
const runTmp = mkdtempSync(join(tmpdir(), 'starphleet-tests-'));
// Passable by the sandbox user, like test/helpers/tmp.ts's dirs: ships' data dirs live below it.
chmodSync(runTmp, 0o711);
// tsx keeps its compile cache at $TMPDIR/tsx-<uid>: share the usual one, or every ship a test starts compiles the
// whole tree again (slow enough on a busy machine to miss a test's wait). The link goes with the run, not the cache.
const tsxCache = join(tmpdir(), `tsx-${process.getuid?.() ?? 0}`);
mkdirSync(tsxCache, { recursive: true, mode: 0o700 });
symlinkSync(tsxCache, join(runTmp, `tsx-${process.getuid?.() ?? 0}`));
// Three files at a time on CI's 2 cores: most of a test's time is waiting on ships, builds and clients (a full run used
// about 40 CPU-minutes in 26 wall-minutes at 2), and every test waits generously, never on a timer.
// --test-force-exit: a file whose tests are done exits even if a leaked client or timer would keep it alive (a load
// left running by a failed test once held a CI run until it was killed); processes it started are still caught below.
const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-force-exit', '--test-concurrency=3', ...files], { stdio: 'inherit', env: { ...process.env, TMPDIR: runTmp } });
// Ctrl-C or a kill of the run: the tests get it too (same group, or passed on here), and the checks below still run.
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => child.kill(s));
let code = await new Promise((resolve) => child.on('exit', (c, signal) => resolve(c ?? 1)));
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
// tsx's compile cache is the runner's own, not a test's.
const left = readdirSync(runTmp).filter((n) => !n.startsWith('tsx-'));
if (left.length > 0) {
  console.error(`\nthe tests left ${left.length} entr${left.length === 1 ? 'y' : 'ies'} in the temp dir (now removed): ${left.join(', ')}`);
  code ||= 1;
}
if (!process.env.KEEP_TMP) rmSync(runTmp, { recursive: true, force: true });
process.exit(code);
