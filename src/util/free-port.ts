import { createServer } from 'node:net';

/** A port the kernel gave to bind(:0) on `listen` a moment ago, closed again (free until someone takes it). */
export function boundPort(listen: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, listen, () => {
      const a = s.address();
      s.close(() => (a && typeof a === 'object' ? resolve(a.port) : reject(new Error('no port'))));
    });
  });
}

/** Null when `listen:port` can be bound now, else why not (in use, permission denied, ...). */
export function whyCannotBind(listen: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code === 'EADDRINUSE' ? 'the port is already in use' : e.code === 'EACCES' ? 'permission denied' : e.message));
    s.listen(port, listen, () => s.close(() => resolve(null)));
  });
}
