import { mkdirSync, rmdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Runs fn holding a lock dir (mkdir is atomic), so two ship processes (an update's hand-over: the old ship and the
 * new one run at once) never do the same read-decide-write together: allocating a uid, attaching a volume. What it
 * guards takes milliseconds to seconds: a lock older than staleMs was left by a process killed while holding it.
 */
export function withLockDir<T>(lock: string, fn: () => T, staleMs = 60_000): T {
  mkdirSync(dirname(lock), { recursive: true, mode: 0o711 });
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      mkdirSync(lock, { mode: 0o700 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      try {
        if (Date.now() - statSync(lock).mtimeMs > staleMs) rmdirSync(lock);
      } catch {
        // Released meanwhile.
      }
      if (Date.now() > deadline) throw new Error(`cannot take ${lock} (another ship process holds it): remove it if no ship runs`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
  try {
    return fn();
  } finally {
    rmdirSync(lock);
  }
}
