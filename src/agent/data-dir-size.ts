import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { setKv } from '../state/hq.js';

/** Disk use of a tree in bytes (allocated blocks, as `du` counts), symlinks not followed; what vanishes meanwhile is skipped. */
export async function treeBytes(path: string): Promise<number> {
  let st;
  try {
    st = await lstat(path);
  } catch {
    return 0;
  }
  let total = st.blocks * 512;
  if (!st.isDirectory()) return total;
  let names: string[] = [];
  try {
    names = await readdir(path);
  } catch {
    return total;
  }
  for (const n of names) total += await treeBytes(join(path, n));
  return total;
}

/** The data dir's size for status (`ship.dataDirBytes`), measured in the background at most every 30 s. */
export class DataDirMeter {
  private measuredAt = 0;
  private measuring = false;

  constructor(
    private readonly dataDir: string,
    private readonly db: Db,
    private readonly log: Logger,
  ) {}

  /** Called every pulse: starts a measurement unless one runs or the last is younger than 30 s. */
  tick(): void {
    if (this.measuring || Date.now() - this.measuredAt < 30_000) return;
    this.measuring = true;
    void treeBytes(this.dataDir)
      .then((bytes) => setKv(this.db, 'ship.dataDirBytes', JSON.stringify({ bytes, at: new Date().toISOString() })))
      .catch((e: unknown) => this.log(`measuring the data dir failed: ${(e as Error).message}`))
      .finally(() => {
        this.measuring = false;
        this.measuredAt = Date.now();
      });
  }
}
