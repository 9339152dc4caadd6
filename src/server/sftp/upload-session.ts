import { mkdirSync } from 'node:fs';
import { registryPaths } from '../../data-dir/registry-paths.js';
import { incomingMaxBytes } from '../../registry/download-limits.js';
import type { SessionContext } from '../sessions/session-context.js';
import { Uploads } from './uploads.js';
import { tallyAudit } from '../../state/audit-hooks.js';

/** An admiral's SFTP session may upload: /incoming/ exists (so `cd /incoming` works), each stored upload is logged. */
export function uploadsFor(ctx: SessionContext): Uploads {
  const max = incomingMaxBytes();
  mkdirSync(registryPaths.incoming(ctx.dataDir), { recursive: true, mode: 0o700 });
  const { user, fingerprint, keyFile } = ctx.identity;
  return new Uploads(ctx.dataDir, max, (path, sha, size) => {
    tallyAudit({ kind: 'sftp-bytes', user, direction: 'write', bytes: size });
    ctx.log(`sftp ${user} ${fingerprint} (${keyFile}): upload ${JSON.stringify(path)} stored as ${sha} (${size} bytes)`);
  });
}
