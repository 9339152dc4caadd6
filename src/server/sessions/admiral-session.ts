import type { PseudoTtyInfo, ServerChannel } from 'ssh2';
import { auditFileRead, auditSessionEnd, auditSessionStart } from '../../state/audit.js';
import { runExec } from './exec.js';
import { loginShellEnv } from './login-shell.js';
import type { ProcessEnd, RunningProgram } from './process-end.js';
import { runOnPty, type PtyProgram } from './pty-shell.js';
import type { SessionContext } from './session-context.js';
import { homeDir, sessionEnv, type ClientEnv } from './session-env.js';
import { issueSessionToken } from '../../commands/control/session-tokens.js';
import { SESSION_ENV } from '../../commands/control/control-wire.js';
import { parseHashCommand } from '../sftp/hash-command.js';
import { serveViewHash } from './view-hash-exec.js';

function describeEnd(end: ProcessEnd): string {
  return end.signal !== null ? `signal ${end.signal}` : `exit ${end.exitCode}`;
}

export interface ServedCommand {
  readonly program: RunningProgram;
  /** Set when it runs on a PTY: resizes go there. */
  readonly pty: PtyProgram | null;
}

/**
 * An allowed shell (`command` null) or command, as the ship's own user: a real shell on a PTY, or bash without one.
 * What runs is what the gate decided (a forced command replaces the request, which goes to SSH_ORIGINAL_COMMAND).
 */
export function serveCommand(
  channel: ServerChannel,
  command: string | null,
  o: { readonly originalCommand?: string; readonly ptyInfo: PseudoTtyInfo | null; readonly clientEnv: ClientEnv },
  ctx: SessionContext,
): ServedCommand {
  const { user, fingerprint, keyFile } = ctx.identity;
  const { ptyInfo } = o;
  const env = sessionEnv({
    dataDir: ctx.dataDir,
    user,
    peer: ctx.peer,
    clientEnv: o.clientEnv,
    ...(ptyInfo ? { term: ptyInfo.term || 'xterm' } : {}),
    ...(o.originalCommand !== undefined ? { originalCommand: o.originalCommand } : {}),
  });
  // A shell (not a command) gets <data>/bin back on PATH after /etc/profile, and the greeting (login-shell.ts).
  if (command === null) Object.assign(env, loginShellEnv(ctx.dataDir));
  // `starphleet ...` run in this session tells the control socket which admiral asked (session-tokens.ts).
  const session = issueSessionToken({ file: keyFile, fingerprint });
  env[SESSION_ENV] = session.token;
  const kind = command === null ? 'shell' : 'exec';
  const started = Date.now();
  const auditId = auditSessionStart(ctx.db, { kind, user, fingerprint, keyFile, remote: ctx.peer.remoteAddress, command, pty: ptyInfo !== null });
  ctx.log(`ssh ${user} ${fingerprint} (${keyFile}) from ${ctx.peer.remoteAddress}: ${kind}${ptyInfo ? ' on pty' : ''}${command !== null ? ` ${JSON.stringify(command)}` : ''}`);
  const onEnd = (end: ProcessEnd): void => {
    session.end();
    const durationMs = Date.now() - started;
    auditSessionEnd(ctx.db, auditId, { exitCode: end.exitCode, signal: end.signal, durationMs });
    ctx.log(`ssh ${user} ${fingerprint} ${kind} ended: ${describeEnd(end)} after ${durationMs} ms`);
  };
  // A client that vanishes mid-write makes the channel emit errors; the close handler below does the cleanup.
  channel.on('error', () => {});
  const opts = { env, cwd: homeDir(), onActivity: ctx.touch, onEnd };
  let served: ServedCommand;
  if (ptyInfo !== null) {
    const pty = runOnPty(channel, command, ptyInfo, opts);
    served = { program: pty, pty };
  } else {
    const exec = (): RunningProgram => runExec(channel, command === null ? ['-l'] : ['-c', command], opts);
    // `md5sum /services/...` and the like hash the SFTP view (rclone checks copies that way); see view-hash-exec.ts.
    const viewHash = command !== null && user === 'admiral' ? parseHashCommand(command) : null;
    const onFileRead = (path: string, bytes: number): void => auditFileRead(ctx.db, { user, fingerprint, keyFile, remote: ctx.peer.remoteAddress, path, bytes });
    const program = viewHash ? serveViewHash(channel, viewHash, { dataDir: ctx.dataDir, fallback: exec, onEnd, onFileRead }) : exec();
    served = { program, pty: null };
  }
  channel.on('close', () => {
    session.end();
    served.program.hangup();
  });
  return served;
}
