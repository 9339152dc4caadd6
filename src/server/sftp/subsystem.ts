import type { ServerChannel } from 'ssh2';
import { auditFileRead, auditSessionEnd, auditSessionStart } from '../../state/audit.js';
import type { SessionContext } from '../sessions/session-context.js';
import { outboundOf } from './outbound.js';
import { serveSftp } from './session.js';
import { uploadsFor } from './upload-session.js';

function audited(ctx: SessionContext) {
  const { user, fingerprint, keyFile } = ctx.identity;
  const remote = ctx.peer.remoteAddress;
  const started = Date.now();
  const auditId = auditSessionStart(ctx.db, { kind: 'sftp', user, fingerprint, keyFile, remote, command: null, pty: false });
  ctx.log(`ssh ${user} ${fingerprint} (${keyFile}) from ${remote}: sftp`);
  let ended = false;
  return {
    onActivity: (): void => ctx.touch(),
    onFileRead: (path: string, bytes: number): void => auditFileRead(ctx.db, { user, fingerprint, keyFile, remote, path, bytes }),
    onEnd: (): void => {
      if (ended) return;
      ended = true;
      auditSessionEnd(ctx.db, auditId, { exitCode: 0, signal: null, durationMs: Date.now() - started });
    },
  };
}

/**
 * The `sftp` subsystem the gate allowed: the read-only deployed view, served by our own SFTP v3 server on the plain
 * session channel (src/server/sftp/session.ts says why not ssh2's). Audited: the session and every file read.
 */
export function startSftp(channel: ServerChannel, ctx: SessionContext): () => void {
  // Admirals may upload (uploads.ts); another ship sees the registry only, read-only.
  const scope = ctx.identity.user === 'ship' ? 'ship' : 'admiral';
  const uploads = scope === 'admiral' ? uploadsFor(ctx) : undefined;
  const served = serveSftp(channel, { dataDir: ctx.dataDir, socket: outboundOf(channel), ...audited(ctx), scope, ...(uploads ? { uploads } : {}) });
  return () => {
    void served.close();
    channel.close();
  };
}
