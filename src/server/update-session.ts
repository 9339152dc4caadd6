import { Writable } from 'node:stream';
import type { ServerChannel, Session } from 'ssh2';
import { runOnShip } from './run-on-ship.js';
import { auditSessionEnd, auditSessionStart } from '../state/audit.js';
import { finishChannel } from './process-end.js';
import type { SessionContext, UserBackend } from './session-context.js';

/** A channel stream as a Writable; with a client PTY (raw mode) bare newlines would staircase, so they become CRLF. */
function toChannel(target: NodeJS.WritableStream, pty: boolean, touch: () => void): Writable {
  return new Writable({
    write(chunk: Buffer, _enc, cb) {
      touch();
      target.write(pty ? chunk.toString('utf8').replace(/\r?\n/g, '\r\n') : chunk);
      cb();
    },
  });
}

/**
 * `update`: whatever the client asks for (a shell, any command), the ship updates itself: the same `starphleet update`
 * an admiral's shell runs, through the control socket, its progress streamed here and its exit status returned. A PTY
 * request is accepted only so OpenSSH does not warn; nothing runs on it.
 */
export const updateBackend: UserBackend = {
  startSession(session: Session, ctx: SessionContext): () => void {
    const { admiral, user } = ctx.identity;
    const abort = new AbortController();
    let pty = false;
    let started = false;
    session.on('pty', (accept) => {
      pty = true;
      accept?.();
    });
    session.on('env', (_accept, reject) => reject?.());
    session.on('window-change', (accept) => accept?.());
    session.on('sftp', (_accept, reject) => reject?.());
    session.on('subsystem', (_accept, reject) => reject?.());

    const run = (kind: 'shell' | 'exec', command: string | null, channel: ServerChannel): void => {
      if (started) return;
      started = true;
      channel.on('error', () => {});
      channel.on('close', () => abort.abort());
      const t0 = Date.now();
      const auditId = auditSessionStart(ctx.db, { kind, user, fingerprint: admiral.fingerprint, keyFile: admiral.file, remote: ctx.peer.remoteAddress, command: command ?? 'update', pty });
      ctx.log(`ssh ${user} ${admiral.fingerprint} (${admiral.file}) from ${ctx.peer.remoteAddress}: update`);
      const out = toChannel(channel, pty, ctx.touch);
      const err = toChannel(channel.stderr, pty, ctx.touch);
      void runOnShip(ctx.dataDir, ['update'], out, err, abort.signal).then((code) => {
        auditSessionEnd(ctx.db, auditId, { exitCode: code, signal: null, durationMs: Date.now() - t0 });
        ctx.log(`ssh ${user} ${admiral.fingerprint} update ended: exit ${code}`);
        if (!abort.signal.aborted) finishChannel(channel, { exitCode: code, signal: null });
      });
    };
    session.on('shell', (accept) => {
      const channel = accept();
      if (channel) run('shell', null, channel);
    });
    session.on('exec', (accept, _reject, info) => {
      const channel = accept();
      if (channel) run('exec', info.command, channel);
    });
    return () => abort.abort();
  },
};
