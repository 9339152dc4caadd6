import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';

/** Thrown when another live ship already uses the data dir. */
export class DataDirBusy extends Error {}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * One ship per data dir: `<data>/ship.pid` holds the owner's pid. A file left by a dead ship is taken over; a live
 * owner makes the second ship refuse to start (two ships would fight over the same instances and sockets).
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'ship.pid');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && alive(owner)) {
        throw new DataDirBusy(`another ship (pid ${owner}) is running with data dir ${dataDir}`);
      }
      unlinkSync(path);
    }
  }
  throw new DataDirBusy(`cannot lock data dir ${dataDir}`);
}
