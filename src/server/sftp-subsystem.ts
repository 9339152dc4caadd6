import type { SFTPWrapper } from 'ssh2';
import { auditFileRead, auditSessionEnd, auditSessionStart } from '../state/audit.js';
import type { SessionContext } from './session-context.js';
import { serveSftp } from './sftp/session.js';

/** ssh2 keeps these on the SFTP object; they are how an exit-status is sent on its channel. */
interface SftpChannelInternals {
  readonly _protocol: { exitStatus(channelId: number, status: number): void };
  readonly outgoing: { readonly id: number; readonly state?: string };
}

/**
 * The admiral's `sftp` subsystem: the read-only deployed view. Keys restricted by `command=` or `restrict` do not get
 * it (they may only run what they are forced to). ssh2 neither ends the channel on client EOF nor sends an exit
 * status (see shared notes), so both are done here: `sftp` exits on `bye` and `scp` exits 0.
 */
export function startSftp(sftp: SFTPWrapper, ctx: SessionContext): () => void {
  const { admiral, user } = ctx.identity;
  const started = Date.now();
  const auditId = auditSessionStart(ctx.db, {
    kind: 'sftp', user, fingerprint: admiral.fingerprint, keyFile: admiral.file, remote: ctx.peer.remoteAddress, command: null, pty: false,
  });
  ctx.log(`ssh ${user} ${admiral.fingerprint} (${admiral.file}) from ${ctx.peer.remoteAddress}: sftp`);
  const served = serveSftp(sftp, {
    dataDir: ctx.dataDir,
    onFileRead: (path, bytes) =>
      auditFileRead(ctx.db, { user, fingerprint: admiral.fingerprint, keyFile: admiral.file, remote: ctx.peer.remoteAddress, path, bytes }),
  });
  // Any request is activity: a long download must not trip the idle timeout.
  const touch = (): void => ctx.touch();
  for (const ev of ['OPEN', 'READ', 'READDIR', 'STAT', 'LSTAT', 'FSTAT', 'REALPATH', 'OPENDIR']) sftp.on(ev, touch);
  let ended = false;
  const finish = (): void => {
    if (ended) return;
    ended = true;
    void served.close();
    auditSessionEnd(ctx.db, auditId, { exitCode: 0, signal: null, durationMs: Date.now() - started });
    const ch = sftp as unknown as SftpChannelInternals;
    try {
      ch._protocol.exitStatus(ch.outgoing.id, 0);
    } catch {
      // channel already gone
    }
    sftp.end();
  };
  sftp.on('error', () => {});
  sftp.on('end', finish);
  sftp.on('close', () => {
    ended = true;
    void served.close();
  });
  return finish;
}
