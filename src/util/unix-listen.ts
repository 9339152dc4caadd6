import { chmodSync } from 'node:fs';
import type { Server } from 'node:net';

/**
 * Listens on a unix socket that is never reachable with wider rights than `mode`, not even for the moment between
 * bind and chmod: the umask is narrowed for the bind, then the mode set exactly.
 */
export async function listenUnix(server: Server, path: string, mode: number): Promise<void> {
  const old = process.umask(0o777 & ~mode);
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(path, () => resolve());
    });
  } finally {
    process.umask(old);
  }
  chmodSync(path, mode);
}
