import { spawn, type ChildProcess } from 'node:child_process';

/**
 * Runs a program to its end and hands back what it said, never throwing: the few things the ship asked of execa
 * (which cost ~150 module files at every start of the ship), on node's own spawn. stdin is `input` (written, then
 * closed) or /dev/null, so a program that reads it never waits on us.
 */
export interface RunOptions {
  cwd?: string;
  /** Merged over process.env, unless extendEnv is false: then the program sees this env alone (no PATH unless given). */
  env?: Readonly<Record<string, string | undefined>>;
  extendEnv?: boolean;
  input?: string;
  /** Milliseconds; then SIGTERM, and SIGKILL 5 s later if it is still running. */
  timeout?: number;
  /** Bytes either stdout or stderr may hold (100 MB unless set); past it the program is killed as on a timeout. */
  maxBuffer?: number;
}

export interface RunResult {
  /** undefined when the program did not exit by itself (killed, or never started). */
  exitCode: number | undefined;
  signal: NodeJS.Signals | undefined;
  /** utf8, one final newline stripped. */
  stdout: string;
  stderr: string;
  /** Anything but a clean exit 0. */
  failed: boolean;
  timedOut: boolean;
  isMaxBuffer: boolean;
  /** Why it failed, naming the command; '' when it did not. */
  message: string;
}

const FORCE_KILL_MS = 5000;
const DEFAULT_MAX_BUFFER = 100 * 1024 * 1024;

const stripFinalNewline = (s: string): string => (s.endsWith('\r\n') ? s.slice(0, -2) : s.endsWith('\n') ? s.slice(0, -1) : s);

export function runProgram(file: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const command = [file, ...args].join(' ');
  const env = opts.extendEnv === false ? { ...opts.env } : { ...process.env, ...opts.env };
  const maxBuffer = opts.maxBuffer ?? DEFAULT_MAX_BUFFER;
  return new Promise((resolve) => {
    let child: ChildProcess;
    const streams = [{ name: 'stdout', chunks: [] as Buffer[], bytes: 0 }, { name: 'stderr', chunks: [] as Buffer[], bytes: 0 }];
    let timedOut = false;
    let overflow: string | undefined;
    let spawnError: Error | undefined;
    let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let killing = false;
    let timer: NodeJS.Timeout | undefined;
    let forceTimer: NodeJS.Timeout | undefined;
    let settled = false;

    const finish = (exitCode: number | null, signal: NodeJS.Signals | null): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(forceTimer);
      const [stdout = '', stderr = ''] = streams.map((s) => stripFinalNewline(Buffer.concat(s.chunks).toString('utf8')));
      const why = spawnError
        ? `cannot start ${file}${opts.cwd === undefined ? '' : ` in ${opts.cwd}`}: ${spawnError.message}`
        : timedOut
          ? `timed out after ${opts.timeout} ms${signal === null ? '' : ` and was killed (${signal})`}`
          : overflow !== undefined
            ? `its ${overflow} passed ${maxBuffer} bytes (maxBuffer) and it was killed`
            : signal !== null
              ? `killed by ${signal}`
              : exitCode !== 0
                ? `exit code ${exitCode}`
                : '';
      const failed = why !== '';
      const message = failed ? `${command}: ${why}${stderr === '' ? '' : `\n${stderr}`}` : '';
      resolve({ exitCode: exitCode ?? undefined, signal: signal ?? undefined, stdout, stderr, failed, timedOut, isMaxBuffer: overflow !== undefined, message });
    };

    // Once it is gone, its stdio is let go: a child it left holding the pipes cannot hold us past a kill.
    const release = (): void => {
      child.stdout?.destroy();
      child.stderr?.destroy();
      finish(exit?.code ?? null, exit?.signal ?? null);
    };

    // Only the program itself is signalled, as execa did.
    const stop = (): void => {
      if (exit !== undefined) return release();
      if (killing) return;
      killing = true;
      child.kill('SIGTERM');
      forceTimer = setTimeout(() => child.kill('SIGKILL'), FORCE_KILL_MS);
    };

    try {
      child = spawn(file, args, { cwd: opts.cwd, env, stdio: [opts.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    } catch (err) {
      spawnError = err as Error;
      finish(null, null);
      return;
    }
    child.on('error', (err) => {
      // Also reached for a failed kill: only a program that never ran (ENOENT, EACCES) ends here.
      if (child.pid !== undefined) return;
      spawnError = err;
      finish(null, null);
    });
    for (const [i, stream] of [child.stdout, child.stderr].entries()) {
      const s = streams[i] as (typeof streams)[number];
      stream?.on('data', (chunk: Buffer) => {
        if (overflow !== undefined) return;
        const room = maxBuffer - s.bytes;
        s.chunks.push(chunk.length > room ? chunk.subarray(0, room) : chunk);
        s.bytes += chunk.length;
        if (chunk.length > room) {
          overflow = s.name;
          stop();
        }
      });
    }
    if (opts.input !== undefined && child.stdin) {
      child.stdin.on('error', () => {}); // EPIPE: it exited without reading all of it; its exit code says the rest.
      child.stdin.end(opts.input);
    }
    if (opts.timeout !== undefined && opts.timeout > 0) {
      timer = setTimeout(() => {
        timedOut = true;
        stop();
      }, opts.timeout);
    }
    child.on('exit', (code, signal) => {
      exit = { code, signal };
      if (killing) release(); // else 'close' follows, with all it wrote
    });
    child.on('close', (code: number | null, signal: NodeJS.Signals | null) => finish(code, signal));
  });
}
