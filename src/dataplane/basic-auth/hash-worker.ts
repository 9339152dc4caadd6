import { parentPort } from 'node:worker_threads';
import { verifyHash } from './verify-hash.js';

/** A worker thread that checks password hashes, so a bcrypt never blocks the data plane's event loop. */
parentPort?.on('message', (m: { id: number; hash: string; password: Uint8Array }) => {
  void verifyHash(m.hash, Buffer.from(m.password)).then(
    (ok) => parentPort?.postMessage({ id: m.id, ok }),
    () => parentPort?.postMessage({ id: m.id, ok: false }),
  );
});
