import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { stopDataPlane } from '../../src/dataplane/ship-side/plane-process.js';
import { GiveUp, waitFor } from './wait.js';
import { CLI_ARGS } from './cli-entry.js';
import { seedRsaHostKey } from './host-key-pool.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Data plane processes started for this data dir (`plane-main ... --data DIR`), recorded or not. */
function planeProcessesOf(dataDir: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const argv = readFileSync(`/proc/${name}/cmdline`, 'utf8').split('\0');
      const i = argv.indexOf('--data');
      if (argv.some((a) => /plane-main\.(ts|js)$/.test(a)) && i >= 0 && argv[i + 1] === dataDir) out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

const handedOut = new Set<number>();

/**
 * A port that was free a moment ago. Picked at random below the kernel's ephemeral range (32768 up), because a port
 * from bind(:0) is one the kernel also hands to outgoing connections: under the load tests' many client sockets, one
 * took a ship's port between this check and the ship's bind, and that ship exited on EADDRINUSE.
 */
export async function freePort(): Promise<number> {
  for (let i = 0; i < 200; i++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || !claimedForRun(port)) continue;
    if (await canBind(port)) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error('no free port found in 20000-31999');
}

/**
 * The port taken for this run across test processes (a file per port in the runner's SP_TEST_PORTS, made with O_EXCL):
 * two files picking the same port between its check and their ships' bind was seen in CI. Without the runner: true.
 */
function claimedForRun(port: number): boolean {
  const dir = process.env.SP_TEST_PORTS;
  if (!dir) return true;
  try {
    closeSync(openSync(join(dir, String(port)), 'wx'));
    return true;
  } catch {
    return false;
  }
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Every ship this test process started, so that a failed run shows what they said (CI shows only the output). */
const started: { dataDir: string; output: () => string }[] = [];
process.on('exit', () => {
  if (!process.exitCode) return;
  // The last few: a soak starts a ship per restart.
  for (const s of started.slice(-3)) process.stderr.write(`--- the ship on ${s.dataDir} said (last 3000 characters) ---\n${s.output().slice(-3000)}\n`);
});

export interface ShipProcess {
  readonly child: ChildProcess;
  readonly sshPort: number;
  readonly httpPort: number;
  readonly dataDir: string;
  /** Everything the ship printed so far. */
  output(): string;
  /** Waits until the ship's output matches re (searching from the start, or from `since` characters on). */
  waitForLog(re: RegExp, timeoutMs?: number, since?: number): Promise<RegExpMatchArray>;
  /** SIGTERM, then wait for exit (SIGKILL after 30 s), then stop the data plane it left. Returns the ship's exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL the ship process itself (not its instances). */
  kill(): Promise<void>;
}

export interface StartShipOptions {
  readonly headquarters: string;
  readonly dataDir: string;
  readonly pulse?: number;
  readonly env?: Record<string, string>;
  readonly args?: readonly string[];
  readonly sshPort?: number;
  readonly httpPort?: number;
  /** A command the ship runs under (it gets node and the ship's arguments appended), e.g. unshare for its own mount namespace. */
  readonly wrap?: readonly string[];
}

/**
 * Starts `starphleet ship` as a real process (CLI_ARGS: dist when current, else the sources), on loopback with free ports; metrics off unless
 * asked for (every ship would try the same default port).
 */
export async function startShip(o: StartShipOptions): Promise<ShipProcess> {
  const sshPort = o.sshPort ?? (await freePort());
  const httpPort = o.httpPort ?? (await freePort());
  const args = [
    ...CLI_ARGS, 'ship',
    '--headquarters', o.headquarters,
    '--data', o.dataDir,
    '--listen', '127.0.0.1',
    '--ssh-port', String(sshPort),
    '--http-port', String(httpPort),
    '--pulse', String(o.pulse ?? 0.5),
    '--name', 'testship',
    ...(o.args ?? []),
  ];
  seedRsaHostKey(o.dataDir);
  const [file, ...pre] = o.wrap && o.wrap.length > 0 ? [...o.wrap, process.execPath] : [process.execPath];
  const child = spawn(file as string, [...pre, ...args], { cwd: ROOT, env: { ...process.env, STARPHLEET_METRICS_LISTEN: 'off', STARPHLEET_DASHBOARD_LISTEN: '127.0.0.1:0', ...o.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  if (process.env.SHIP_LOG) child.stdout?.pipe(process.stderr);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let stopping = false;
  child.once('exit', (code, signal) => {
    // Exit 0 is a ship handing over to an updated one; anything else is what a failing test needs to see.
    if (!stopping) process.stderr.write(`the ship on ${o.dataDir} exited on its own (${code ?? signal})${code === 0 ? '' : `:\n${out.slice(-3000)}`}\n`);
  });
  started.push({ dataDir: o.dataDir, output: () => out });
  return {
    child,
    sshPort,
    httpPort,
    dataDir: o.dataDir,
    output: () => out,
    // 120 s: a ship's first lines took over 60 s on a 2-core machine running three heavy test files.
    waitForLog: (re, timeoutMs = 120_000, since = 0) =>
      waitFor(() => {
        const m = out.slice(since).match(re);
        // A ship that has exited prints nothing more: waiting out the timeout would only hide what it said.
        if (!m && (child.exitCode !== null || child.signalCode !== null)) throw new GiveUp(`ship exited (${child.exitCode ?? child.signalCode}) before its log matched ${re}:\n${out.slice(-3000)}`);
        return m;
      }, () => `ship log ${re}\n--- ship output so far ---\n${out.slice(-3000)}`, timeoutMs),
    async stop() {
      stopping = true;
      let code = child.exitCode;
      if (code === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 30_000);
        code = await exited;
        clearTimeout(t);
      }
      // The data plane outlives the ship by design: a test ends it itself.
      await stopDataPlane(o.dataDir);
      // One the ship spawned just as it was stopped has no record yet: found by its command line instead.
      for (const pid of planeProcessesOf(o.dataDir)) {
        try {
          process.kill(pid, 'SIGTERM');
        } catch {
          // gone meanwhile
        }
      }
      return code;
    },
    async kill() {
      stopping = true;
      child.kill('SIGKILL');
      await exited;
    },
  };
}
