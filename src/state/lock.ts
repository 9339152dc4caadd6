import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { processAlive } from '../util/process-alive.js';

/** Thrown when another live ship already uses the data dir. */
export class DataDirBusy extends Error {}

/** Removes the pid file if it still names this process (after a hand-over it names the successor: left alone). */
function releaser(path: string): () => void {
  return () => {
    try {
      if (readFileSync(path, 'utf8').trim() === String(process.pid)) unlinkSync(path);
    } catch {
      // already gone
    }
  };
}

/**
 * One ship per data dir: `<data>/ship.pid` holds the owner's pid. A file left by a dead ship is taken over; a live
 * owner makes the second ship refuse to start (two ships would fight over the same instances and sockets).
 */
export function lockDataDir(dataDir: string): () => void {
  const path = join(dataDir, 'ship.pid');
  const release = releaser(path);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx', 0o600);
      writeSync(fd, `${process.pid}\n`);
      closeSync(fd);
      return release;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      const owner = Number(readFileSync(path, 'utf8').trim());
      if (Number.isInteger(owner) && owner > 0 && owner !== process.pid && processAlive(owner)) {
        throw new DataDirBusy(`another ship (pid ${owner}) is running with data dir ${dataDir}`);
      }
      unlinkSync(path);
    }
  }
  throw new DataDirBusy(`cannot lock data dir ${dataDir}`);
}

/**
 * Hand-over: the successor takes the lock from the ship that started it (replacing the pid in one rename, so the
 * file never names nobody). Refused if someone else holds it. The old ship's unlock then leaves the file alone.
 */
export function takeOverDataDir(dataDir: string, fromPid: number): () => void {
  const path = join(dataDir, 'ship.pid');
  let owner = NaN;
  try {
    owner = Number(readFileSync(path, 'utf8').trim());
  } catch {
    // no owner
  }
  if (Number.isInteger(owner) && owner > 0 && owner !== fromPid && owner !== process.pid && processAlive(owner)) {
    throw new DataDirBusy(`another ship (pid ${owner}) holds data dir ${dataDir}, not the ship handing over (pid ${fromPid})`);
  }
  writeFileAtomicSync(path, `${process.pid}\n`, 0o600);
  return releaser(path);
}
