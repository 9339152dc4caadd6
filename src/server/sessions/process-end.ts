import { constants } from 'node:os';
import type { ServerChannel } from 'ssh2';
import { killGroup } from '../../util/process-group.js';

/** How a session's program ended, for the client and the audit. */
export interface ProcessEnd {
  readonly exitCode: number | null;
  /** Without the `SIG` prefix, as SSH names signals. */
  readonly signal: string | null;
}

/** Signals RFC 4254 names; anything else is reported as a 128+n exit status, as a shell would. */
const SSH_SIGNALS = new Set(['ABRT', 'ALRM', 'FPE', 'HUP', 'ILL', 'INT', 'KILL', 'PIPE', 'QUIT', 'SEGV', 'TERM', 'USR1', 'USR2']);

export interface RunningProgram {
  /** Forwards a client `signal` request; false if the name is not one SSH defines. */
  signal(name: string): boolean;
  /** The client went away: hang up the program (and its children). */
  hangup(): void;
}

/** Grace between SIGHUP and SIGKILL when the client is gone. */
const HANGUP_GRACE_MS = 2000;

/**
 * Signals for a session's program, sent to its whole process group (its own: the program is the group leader), so
 * a pipeline or a background job gets them too. Nothing is sent once the program has ended: its pid may be reused.
 */
export function groupControl(pid: number | undefined, ended: () => boolean): RunningProgram {
  const kill = (sig: NodeJS.Signals): void => {
    if (!ended()) killGroup(pid, sig);
  };
  return {
    signal(name) {
      const sig = clientSignal(name);
      if (!sig) return false;
      kill(sig);
      return true;
    },
    hangup() {
      kill('SIGHUP');
      setTimeout(() => kill('SIGKILL'), HANGUP_GRACE_MS).unref();
    },
  };
}

/** A signal the client may send to a session's program (`signal` request), normalised to `SIGxxx`. */
export function clientSignal(name: string): NodeJS.Signals | null {
  const bare = name.toUpperCase().replace(/^SIG/, '');
  return SSH_SIGNALS.has(bare) ? (`SIG${bare}` as NodeJS.Signals) : null;
}

export function processEnd(code: number | null, signal: NodeJS.Signals | number | null): ProcessEnd {
  if (signal === null || signal === 0) return { exitCode: code ?? 0, signal: null };
  const name = typeof signal === 'number' ? Object.entries(constants.signals).find(([, n]) => n === signal)?.[0] : signal;
  return { exitCode: null, signal: name ? name.replace(/^SIG/, '') : String(signal) };
}

/**
 * Reports the end and closes the channel. Must run after all output has been written (the child's 'close', not
 * 'exit'): exit-status sent once the channel has ended does nothing, and the client then exits 255.
 */
export function finishChannel(channel: ServerChannel, end: ProcessEnd): void {
  if (end.signal !== null) {
    if (SSH_SIGNALS.has(end.signal)) channel.exit(end.signal, false, '');
    else channel.exit(128 + (constants.signals[`SIG${end.signal}` as NodeJS.Signals] ?? 0));
  } else channel.exit(end.exitCode ?? 0);
  channel.end();
}
