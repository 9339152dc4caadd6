import { Writable } from 'node:stream';
import type { ServerChannel } from 'ssh2';
import { runOnShip } from '../../commands/control/run-on-ship.js';
import { auditSessionEnd, auditSessionStart } from '../../state/audit.js';
import { finishChannel } from './process-end.js';
import type { SessionContext } from './session-context.js';

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
 * An update the gate allowed (`ssh update@ship`, any command or a shell; or `starphleet update` as admiral): the
 * same `starphleet update` an admiral's shell runs, through the control socket, its progress streamed here and its
 * exit status returned. With a client PTY, output gets CRLF line ends; nothing else runs on the PTY.
 */
export function serveUpdate(channel: ServerChannel, command: string | null, pty: boolean, ctx: SessionContext): () => void {
  const { user, fingerprint, keyFile } = ctx.identity;
  const abort = new AbortController();
  channel.on('error', () => {});
  channel.on('close', () => abort.abort());
  const t0 = Date.now();
  const auditId = auditSessionStart(ctx.db, { kind: command === null ? 'shell' : 'exec', user, fingerprint, keyFile, remote: ctx.peer.remoteAddress, command: command ?? 'update', pty });
  ctx.log(`ssh ${user} ${fingerprint} (${keyFile}) from ${ctx.peer.remoteAddress}: update`);
  const out = toChannel(channel, pty, ctx.touch);
  const err = toChannel(channel.stderr, pty, ctx.touch);
  // The one word an update session may say: --allow-downgrade (`ssh update@ship --allow-downgrade`); the rest of a
  // command is ignored, as before, so nothing else of it reaches the ship.
  const downgrade = command !== null && command.trim().split(/\s+/).includes('--allow-downgrade');
  void runOnShip(ctx.dataDir, downgrade ? ['update', '--allow-downgrade'] : ['update'], out, err, abort.signal).then((code) => {
    auditSessionEnd(ctx.db, auditId, { exitCode: code, signal: null, durationMs: Date.now() - t0 });
    ctx.log(`ssh ${user} ${fingerprint} update ended: exit ${code}`);
    if (!abort.signal.aborted) finishChannel(channel, { exitCode: code, signal: null });
  });
  return () => abort.abort();
}
