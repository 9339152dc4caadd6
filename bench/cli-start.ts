/**
 * What one CLI call costs before it does anything (issue 33): for each light command, the compiled modules it loads
 * (counted with strace: every .js file opened), how many of them are ssh2, agent or sandbox code, and the CPU seconds
 * (user+sys, /usr/bin/time) of 5 runs, median, beside bare `node -e 0` in the same run.
 * Run after `npm run build`: `node --import tsx bench/cli-start.ts [OTHER/dist/cli.js ...]` (needs strace and
 * /usr/bin/time); other builds named (e.g. of an older commit) are measured in the same run, runs interleaved.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RUNS = 5;
const CLIS = [join(import.meta.dirname, '..', 'dist', 'cli.js'), ...process.argv.slice(2)];
const dir = mkdtempSync(join(tmpdir(), 'bench-cli-start-'));
// A data dir with no ship: status and logs load their client path and say that no ship runs.
const noShip = join(dir, 'no-ship');

const CASES: readonly (readonly string[])[] = [
  ['--version'],
  ['version'],
  ['help'],
  ['--help'],
  ['status', '--data', noShip],
  ['logs', '--data', noShip],
  ['status', '--help'],
  ['remote', '--help'],
];

function cpuSeconds(argv: readonly string[]): number {
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', ...argv], { encoding: 'utf8' });
  const last = r.stderr.trim().split('\n').at(-1) ?? '';
  const [user, sys] = last.split(' ').map(Number);
  if (user === undefined || sys === undefined || Number.isNaN(user) || Number.isNaN(sys)) throw new Error(`/usr/bin/time: no figures in ${JSON.stringify(last)}`);
  return user + sys;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function modules(argv: readonly string[]): { all: number; ssh2: number; agent: number; sandbox: number } {
  const trace = join(dir, 'trace.txt');
  spawnSync('strace', ['-f', '-e', 'trace=openat', '-o', trace, ...argv], { stdio: 'ignore' });
  const files = [...readFileSync(trace, 'utf8').matchAll(/openat\([^"]*"([^"]+\.js)", O_RDONLY/g)].map((m) => m[1] ?? '');
  const unique = [...new Set(files)];
  return {
    all: unique.length,
    ssh2: unique.filter((f) => f.includes('/node_modules/ssh2/')).length,
    agent: unique.filter((f) => f.includes('/dist/agent/')).length,
    sandbox: unique.filter((f) => /sandbox/.test(f)).length,
  };
}

try {
  execFileSync('strace', ['-V'], { stdio: 'ignore' });
  const bare = median(Array.from({ length: RUNS }, () => cpuSeconds(['node', '-e', '0'])));
  console.log(`node -e 0: ${bare.toFixed(2)} CPU-s (median of ${RUNS})`);
  CLIS.slice(1).forEach((cli, i) => console.log(`other${i + 1}: ${cli}`));
  console.log('command'.padEnd(34), 'modules  ssh2  agent  sandbox  CPU-s  (x node -e 0)');
  for (const args of CASES) {
    const name = args.map((a) => (a === noShip ? 'X' : a)).join(' ');
    const cpu = CLIS.map((): number[] => []);
    for (let i = 0; i < RUNS; i++) CLIS.forEach((cli, c) => cpu[c]?.push(cpuSeconds(['node', cli, ...args])));
    CLIS.forEach((cli, c) => {
      const m = modules(['node', cli, ...args]);
      const median_ = median(cpu[c] ?? []);
      const label = CLIS.length > 1 ? `${name} [${c === 0 ? 'this' : `other${c}`}]` : name;
      console.log(label.padEnd(34), String(m.all).padStart(7), String(m.ssh2).padStart(5), String(m.agent).padStart(6), String(m.sandbox).padStart(8), median_.toFixed(2).padStart(6), `  (${(median_ / bare).toFixed(1)}x)`);
    });
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
