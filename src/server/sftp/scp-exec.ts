import type { ServerChannel } from 'ssh2';
import { auditFileRead, auditSessionEnd, auditSessionStart } from '../../state/audit.js';
import type { SshRequest } from '../access/gate.js';
import type { SessionContext } from '../sessions/session-context.js';
import { outboundOf } from './outbound.js';
import { serveLegacyScp } from './scp-legacy.js';

/**
 * A legacy scp exec (`scp -f`/`scp -t`, what `scp -O` sends) that the gate allowed: served by the SFTP side's scp
 * backend over the same read-only deployed view (uploads refused there), never by a real scp on the ship.
 */
export function serveScpExec(channel: ServerChannel, request: Extract<SshRequest, { kind: 'scp' }>, ctx: SessionContext): () => void {
  const { user, fingerprint, keyFile } = ctx.identity;
  const remote = ctx.peer.remoteAddress;
  const started = Date.now();
  const auditId = auditSessionStart(ctx.db, { kind: 'scp', user, fingerprint, keyFile, remote, command: request.command, pty: false });
  ctx.log(`ssh ${user} ${fingerprint} (${keyFile}) from ${remote}: scp ${JSON.stringify(request.command)}`);
  serveLegacyScp(channel, request.command, {
    dataDir: ctx.dataDir,
    socket: outboundOf(channel),
    onActivity: () => ctx.touch(),
    onFileRead: (path, bytes) => auditFileRead(ctx.db, { user, fingerprint, keyFile, remote, path, bytes }),
    onEnd: (exitCode) => auditSessionEnd(ctx.db, auditId, { exitCode, signal: null, durationMs: Date.now() - started }),
  });
  return () => channel.close();
}
