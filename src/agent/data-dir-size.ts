import { execFile } from 'node:child_process';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { setKv } from '../state/hq.js';

/**
 * Disk use of a tree in bytes (allocated blocks, each inode once, symlinks not followed), as `du -s` counts it. du,
 * not a walk in this process: a data dir holding an update's node_modules is ~10k files, which an awaited lstat per
 * file made 0.6 CPU-s of the ship's every 30 s (du: 0.03). What vanishes meanwhile makes du complain and exit 1,
 * yet it still prints the total; only no total at all is an error.
 */
export function treeBytes(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile('du', ['-s', '-B1', '-P', '--', path], { encoding: 'utf8', maxBuffer: 1 << 20, env: { ...process.env, LC_ALL: 'C' } }, (err, stdout, stderr) => {
      const m = /^(\d+)\s/m.exec(stdout);
      if (m) resolve(Number(m[1]));
      else if (err && /No such file or directory/.test(stderr)) resolve(0);
      else reject(new Error(`du -s ${path}: ${(stderr || err?.message || 'no total').trim().split('\n').pop()}`));
    });
  });
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
