import { spawn } from 'node:child_process';
import { join } from 'node:path';
import type { NamedFile } from '../headquarters/types.js';
import type { Logger } from '../log.js';
import { killGroup } from '../util/process-group.js';

const SCRIPT_TIMEOUT_MS = 5 * 60_000;

export interface ShipscriptEnv {
  readonly hqDir: string;
  readonly dataDir: string;
  readonly shipName: string;
  readonly headquarters: string;
}

/** Runs one HQ shipscript from the HQ checkout with a time limit; its output becomes log lines. Resolves with the exit code. */
export function runShipscript(script: NamedFile, env: ShipscriptEnv, log: Logger): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(join(env.hqDir, script.file), [], {
      cwd: env.hqDir,
      env: {
        PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
        LANG: 'C.UTF-8',
        HOME: process.env.HOME ?? '/root',
        STARPHLEET_SHIP: env.shipName,
        STARPHLEET_DATA: env.dataDir,
        STARPHLEET_HEADQUARTERS: env.headquarters,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const timer = setTimeout(() => {
      log(`shipscript ${script.name}: killed after ${SCRIPT_TIMEOUT_MS / 1000} s`);
      killGroup(child.pid, 'SIGKILL');
    }, SCRIPT_TIMEOUT_MS);
    const lines = (b: Buffer): void => {
      for (const l of b.toString('utf8').split('\n')) if (l.trim()) log(`shipscript ${script.name}: ${l}`);
    };
    child.stdout.on('data', lines);
    child.stderr.on('data', lines);
    child.on('error', (e) => {
      clearTimeout(timer);
      log(`shipscript ${script.name}: cannot run: ${e.message}`);
      resolve(null);
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      log(`shipscript ${script.name}: exit ${code ?? 'killed'}`);
      resolve(code);
    });
  });
}

/**
 * Runs HQ's shipscripts, one after the other, at start and after every HQ change. A change that arrives while they
 * run queues exactly one more round, so the scripts always end up having seen the newest HQ.
 */
export class Shipscripts {
  private running: Promise<void> | null = null;
  private again = false;

  constructor(
    private readonly env: ShipscriptEnv,
    private readonly log: Logger,
  ) {}

  run(scripts: () => readonly NamedFile[]): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.running = (async () => {
      do {
        this.again = false;
        for (const s of scripts()) await runShipscript(s, this.env, this.log);
      } while (this.again);
    })().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  /** Waits for a round in progress (ship stop). */
  async idle(): Promise<void> {
    await this.running;
  }
}
