import { spawn } from 'node:child_process';
import { constants } from 'node:os';
import type { Launch } from '../agent/runtime/runtime-types.js';
import { RUN_LAUNCH_MARK } from './control/control-wire.js';

/** How the CLI reaches the running ship (server/control-client.ts's callShip). */
export type CallShip = (dataDir: string, argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void; signal?: AbortSignal }) => Promise<number>;

function parseLaunch(text: string): Launch | null {
  if (!text.startsWith(RUN_LAUNCH_MARK)) return null;
  const v = JSON.parse(text.slice(RUN_LAUNCH_MARK.length)) as Launch;
  return typeof v.file === 'string' && Array.isArray(v.args) && typeof v.cwd === 'string' && typeof v.env === 'object' ? v : null;
}

/**
 * The CLI side of `starphleet run`: asks the ship for the one-off's launch, spawns it with this process's own stdin,
 * stdout, stderr (a PTY when the session has one), returns its exit code, then hangs up so the ship cleans up.
 */
export function runOneOffHere(dataDir: string, args: readonly string[], call: CallShip): Promise<number> {
  const hangUp = new AbortController();
  return new Promise((resolve) => {
    let started = false;
    const ship = call(dataDir, ['run', ...args], {
      out: (s) => {
        const launch = started ? null : parseLaunch(s);
        if (!launch) return void process.stdout.write(s);
        started = true;
        // Ctrl-C reaches the one-off through the terminal; this process waits for its end to report its exit code.
        const ignore = (): void => {};
        process.on('SIGINT', ignore);
        const child = spawn(launch.file, launch.args, { cwd: launch.cwd, env: launch.env, stdio: 'inherit', ...(typeof launch.argv0 === 'string' ? { argv0: launch.argv0 } : {}) });
        child.once('error', (e) => {
          process.stderr.write(`starphleet run: ${e.message}\n`);
        });
        child.once('close', (code, signal) => {
          process.removeListener('SIGINT', ignore);
          hangUp.abort();
          resolve(code ?? (signal ? 128 + (constants.signals[signal] ?? 0) : 1));
        });
      },
      err: (s) => process.stderr.write(s),
      signal: hangUp.signal,
    });
    void ship.then((code) => {
      if (!started) resolve(code);
    });
  });
}
