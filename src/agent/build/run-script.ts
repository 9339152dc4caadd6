import { spawn } from 'node:child_process';
import { killGroup as signalGroup } from '../../util/process-group.js';
import type { LineSink } from '../types.js';

export interface ScriptOptions {
  readonly cwd: string;
  readonly env: Record<string, string>;
  /** Every output line goes here as it arrives; stdout is also returned when captureStdout is set. */
  readonly log: LineSink;
  readonly deadline: number;
  readonly signal?: AbortSignal;
  readonly captureStdout?: boolean;
  /** Milliseconds between SIGTERM and SIGKILL of the process group (default 5000). */
  readonly graceMs?: number;
}

export interface ScriptResult {
  readonly code: number | null;
  readonly stdout: string;
  /** Why it was stopped, when it was: 'timeout' or 'aborted'. */
  readonly stopped?: 'timeout' | 'aborted';
}

/** Splits a byte stream into lines, keeping the partial tail until more comes (or the stream ends). */
function lineSplitter(emit: (line: string) => void): { push(b: Buffer): void; end(): void } {
  let tail = '';
  return {
    push(b) {
      const parts = (tail + b.toString('utf8')).split(/\r?\n|\r/);
      tail = parts.pop() ?? '';
      for (const p of parts) emit(p);
    },
    end() {
      if (tail !== '') emit(tail);
      tail = '';
    },
  };
}

/**
 * Runs a program in its own process group, streaming its output line by line. On timeout or abort the whole group
 * (npm and everything it started) gets SIGTERM, then SIGKILL after the grace period.
 */
export function runScript(file: string, args: readonly string[], o: ScriptOptions): Promise<ScriptResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { cwd: o.cwd, env: o.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let stdout = '';
    let stopped: 'timeout' | 'aborted' | undefined;
    const out = lineSplitter((l) => {
      if (o.captureStdout) stdout += `${l}\n`;
      else o.log(l);
    });
    const err = lineSplitter(o.log);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    let killTimer: NodeJS.Timeout | undefined;
    const killGroup = (sig: NodeJS.Signals): void => void signalGroup(child.pid, sig);
    const stop = (why: 'timeout' | 'aborted'): void => {
      if (stopped) return;
      stopped = why;
      killGroup('SIGTERM');
      killTimer = setTimeout(() => killGroup('SIGKILL'), o.graceMs ?? 5000);
    };
    const timer = setTimeout(() => stop('timeout'), Math.max(0, o.deadline - Date.now()));
    const onAbort = (): void => stop('aborted');
    if (o.signal?.aborted) onAbort();
    o.signal?.addEventListener('abort', onAbort);
    child.once('error', (e) => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
      reject(new Error(`cannot run ${file}: ${e.message}`));
    });
    // Whatever the script left running in its group (a daemon holding the pipes open) ends with it.
    child.once('exit', () => killGroup('SIGKILL'));
    child.once('close', (code) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      o.signal?.removeEventListener('abort', onAbort);
      out.end();
      err.end();
      resolve({ code, stdout, ...(stopped ? { stopped } : {}) });
    });
  });
}
