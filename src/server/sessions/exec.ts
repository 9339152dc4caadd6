import { spawn } from 'node:child_process';
import type { ServerChannel } from 'ssh2';
import { finishChannel, groupControl, processEnd, type ProcessEnd, type RunningProgram } from './process-end.js';

/**
 * `ssh host CMD` (or a shell with `ssh -T`) without a PTY: bash with the given arguments (`-c CMD` or `-l`), stdout
 * and stderr kept apart, the client's stdin piped in (its EOF closes the program's stdin), and the exit status or
 * signal sent back once all output is out.
 */
export function runExec(
  channel: ServerChannel,
  bashArgs: readonly string[],
  opts: { readonly env: Record<string, string>; readonly cwd: string; readonly onActivity: () => void; readonly onEnd: (end: ProcessEnd) => void },
): RunningProgram {
  // SHLVL=1: a top-level bash whose stdin is a socket (node's pipes are socketpairs) or that sees SSH_CLIENT sources
  // ~/.bashrc even for `bash -c` on Debian; the session PATH would then be whatever that file makes of it, and every
  // command would pay for it. Interactive and login shells read their startup files as usual.
  const env = { ...opts.env, SHLVL: '1' };
  // detached: its own process group, so a hang-up or a client signal reaches the whole pipeline, not just bash.
  const child = spawn('/bin/bash', [...bashArgs], { cwd: opts.cwd, env, detached: true, stdio: 'pipe' });
  let ended = false;
  // EPIPE when the program exits without reading all of stdin is normal, not an error.
  child.stdin.on('error', () => {});
  channel.on('data', opts.onActivity);
  channel.pipe(child.stdin);
  child.stdout.on('data', opts.onActivity);
  child.stderr.on('data', opts.onActivity);
  child.stdout.pipe(channel, { end: false });
  child.stderr.pipe(channel.stderr, { end: false });
  child.on('error', (e) => {
    channel.stderr.write(`starphleet: cannot run bash: ${e.message}\n`);
  });
  child.on('close', (code, signal) => {
    ended = true;
    const end = code === null && signal === null ? { exitCode: 127, signal: null } : processEnd(code, signal);
    finishChannel(channel, end);
    opts.onEnd(end);
  });
  return groupControl(child.pid, () => ended);
}
