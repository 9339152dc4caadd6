import type { PseudoTtyInfo, ServerChannel, Session } from 'ssh2';
import { auditSessionEnd, auditSessionStart } from '../state/audit.js';
import { runExec } from './exec.js';
import type { ProcessEnd, RunningProgram } from './process-end.js';
import { runOnPty, type PtyProgram } from './pty-shell.js';
import { startSftp } from './sftp-subsystem.js';
import type { SessionContext, UserBackend } from './session-context.js';
import { ClientEnv, homeDir, sessionEnv } from './session-env.js';

function describeEnd(end: ProcessEnd): string {
  return end.signal !== null ? `signal ${end.signal}` : `exit ${end.exitCode}`;
}

/**
 * `admiral`: a real shell on a PTY, or a command through bash, as the ship's own user. The key's options decide the
 * rest: `command=` replaces what is asked for (which goes to SSH_ORIGINAL_COMMAND), `restrict`/`no-pty` refuse PTYs.
 */
export const admiralBackend: UserBackend = {
  startSession(session: Session, ctx: SessionContext): () => void {
    const { admiral, user } = ctx.identity;
    const forced = admiral.restrictions.command;
    const clientEnv = new ClientEnv(forced !== undefined);
    let ptyInfo: PseudoTtyInfo | null = null;
    let program: RunningProgram | null = null;
    let onPty: PtyProgram | null = null;
    let stopSftp: (() => void) | null = null;

    session.on('env', (accept, reject, info) => {
      if (program === null && clientEnv.offer(info.key, info.val)) accept?.();
      else reject?.();
    });
    session.on('pty', (accept, reject, info) => {
      if (!admiral.restrictions.pty || program !== null) {
        reject?.();
        return;
      }
      ptyInfo = info;
      accept?.();
    });
    session.on('window-change', (accept, reject, info) => {
      if (onPty === null) {
        if (ptyInfo !== null) ptyInfo = { ...ptyInfo, cols: info.cols, rows: info.rows };
        else return reject?.();
      } else onPty.resize(info);
      accept?.();
    });
    session.on('signal', (accept, reject, info) => {
      if (program?.signal(info.name)) accept?.();
      else reject?.();
    });

    const start = (requested: string | null, channel: ServerChannel): void => {
      const command = forced ?? requested;
      const env = sessionEnv({
        dataDir: ctx.dataDir,
        user,
        peer: ctx.peer,
        clientEnv,
        ...(ptyInfo ? { term: ptyInfo.term || 'xterm' } : {}),
        ...(forced !== undefined && requested !== null ? { originalCommand: requested } : {}),
      });
      const kind = command === null ? 'shell' : 'exec';
      const started = Date.now();
      const auditId = auditSessionStart(ctx.db, {
        kind, user, fingerprint: admiral.fingerprint, keyFile: admiral.file, remote: ctx.peer.remoteAddress, command, pty: ptyInfo !== null,
      });
      ctx.log(`ssh ${user} ${admiral.fingerprint} (${admiral.file}) from ${ctx.peer.remoteAddress}: ${kind}${ptyInfo ? ' on pty' : ''}${command !== null ? ` ${JSON.stringify(command)}` : ''}`);
      const onEnd = (end: ProcessEnd): void => {
        const durationMs = Date.now() - started;
        auditSessionEnd(ctx.db, auditId, { exitCode: end.exitCode, signal: end.signal, durationMs });
        ctx.log(`ssh ${user} ${admiral.fingerprint} ${kind} ended: ${describeEnd(end)} after ${durationMs} ms`);
      };
      // A client that vanishes mid-write makes the channel emit errors; the close handler below does the cleanup.
      channel.on('error', () => {});
      const opts = { env, cwd: homeDir(), onActivity: ctx.touch, onEnd };
      if (ptyInfo !== null) program = onPty = runOnPty(channel, command, ptyInfo, opts);
      else program = runExec(channel, command === null ? ['-l'] : ['-c', command], opts);
      channel.on('close', () => program?.hangup());
    };

    session.on('sftp', (accept, reject) => {
      // A forced command or `restrict` means: only that command. SFTP would be a way around it.
      if (forced !== undefined || admiral.options.some((o) => o.name === 'restrict') || program !== null) return void reject?.();
      const sftp = accept?.();
      if (sftp) stopSftp = startSftp(sftp, ctx);
    });
    session.on('shell', (accept) => {
      const channel = accept();
      if (channel) start(null, channel);
    });
    session.on('exec', (accept, _reject, info) => {
      const channel = accept();
      if (channel) start(info.command, channel);
    });
    return () => {
      program?.hangup();
      stopSftp?.();
    };
  },
};
