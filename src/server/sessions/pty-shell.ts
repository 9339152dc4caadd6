import pty from 'node-pty';
import type { PseudoTtyInfo, ServerChannel, WindowChangeInfo } from 'ssh2';
import { LOGIN_SHELL_ARGS } from './login-shell.js';
import { finishChannel, groupControl, processEnd, type ProcessEnd, type RunningProgram } from './process-end.js';

export interface PtyProgram extends RunningProgram {
  resize(size: WindowChangeInfo): void;
}

/** Terminal sizes outside this are a client bug or an attack on the PTY layer; clamp them. */
function dim(n: number, fallback: number): number {
  return Number.isInteger(n) && n > 0 ? Math.min(n, 10_000) : fallback;
}

/**
 * A program on a pseudo-terminal: the interactive shell (`ssh host`) or a command with `-t` (`ssh -t host top`).
 * bash runs as a login shell for the former, `bash -c CMD` for the latter; the terminal sends ^C etc. itself.
 */
export function runOnPty(
  channel: ServerChannel,
  command: string | null,
  size: PseudoTtyInfo,
  opts: { readonly env: Record<string, string>; readonly cwd: string; readonly onActivity: () => void; readonly onEnd: (end: ProcessEnd) => void },
): PtyProgram {
  const term = pty.spawn('/bin/bash', command === null ? [...LOGIN_SHELL_ARGS] : ['-c', command], {
    name: opts.env.TERM ?? 'xterm',
    cols: dim(size.cols, 80),
    rows: dim(size.rows, 24),
    cwd: opts.cwd,
    env: opts.env,
  });
  let ended = false;
  term.onData((d) => {
    opts.onActivity();
    if (channel.writable) channel.write(d);
  });
  // On a terminal, EOF is a keystroke (^D), not a closed pipe; like sshd, a client EOF closes nothing here.
  channel.on('data', (d: Buffer) => {
    opts.onActivity();
    if (!ended) term.write(d);
  });
  term.onExit(({ exitCode, signal }) => {
    ended = true;
    const end = processEnd(exitCode, signal ?? null);
    finishChannel(channel, end);
    opts.onEnd(end);
  });
  // bash leads its own process group on the new terminal.
  const control = groupControl(term.pid, () => ended);
  return {
    ...control,
    resize(s) {
      if (!ended) term.resize(dim(s.cols, 80), dim(s.rows, 24));
    },
  };
}
