import { existsSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import type { RequestStats } from '../process/request-stats.js';

/**
 * The nginx plane's request tally: every location logs `<service> <status> <request_time>` to one file
 * (nginx-config.ts STATS_FORMAT, buffered, flushed each second); this reads it on and counts into the process's
 * RequestStats, as the embedded plane counts itself. Past ROTATE_BYTES the file is renamed and nginx told to reopen
 * its logs (SIGUSR1); the renamed file is read to its end once nginx writes the new one, then removed.
 */
const ROTATE_BYTES = 4 * 1024 * 1024;
const CHUNK = 256 * 1024;
const LINE = /^(\S+) ([0-9]{3}) ([0-9.]+)$/;

export class NginxStatsTail {
  private offset = 0;
  private old: { path: string; offset: number } | null = null;
  private busy = false;

  constructor(
    private readonly file: string,
    private readonly stats: RequestStats,
    private readonly master: () => number,
  ) {
    // Lines logged before this process started were counted by the one before it (or by nobody): start at the end.
    try {
      this.offset = statSync(file).size;
    } catch {
      this.offset = 0;
    }
  }

  private count(text: string): void {
    for (const line of text.split('\n')) {
      const m = LINE.exec(line);
      if (m) this.stats.observe(m[1] as string, Number(m[2]), Number(m[3]));
    }
  }

  /** Reads whole lines of path from offset on; returns the new offset. */
  private async readFrom(path: string, offset: number): Promise<number> {
    const fh = await open(path, 'r').catch(() => null);
    if (!fh) return offset;
    try {
      const { size } = await fh.stat();
      if (size < offset) offset = 0;
      while (offset < size) {
        const buf = Buffer.alloc(Math.min(CHUNK, size - offset));
        const { bytesRead } = await fh.read(buf, 0, buf.length, offset);
        const last = buf.subarray(0, bytesRead).lastIndexOf(10);
        if (last < 0) break;
        this.count(buf.subarray(0, last).toString('utf8'));
        offset += last + 1;
      }
      return offset;
    } finally {
      await fh.close();
    }
  }

  async poll(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      if (this.old && existsSync(this.file)) {
        // nginx writes the new file: the old one gets nothing more once its buffers went out (read it to its end).
        await this.readFrom(this.old.path, this.old.offset);
        rmSync(this.old.path, { force: true });
        this.old = null;
      }
      this.offset = await this.readFrom(this.file, this.offset);
      if (this.old === null && this.offset > ROTATE_BYTES && this.master() > 0) {
        const path = `${this.file}.old`;
        renameSync(this.file, path);
        this.old = { path, offset: this.offset };
        this.offset = 0;
        try {
          process.kill(this.master(), 'SIGUSR1');
        } catch {
          // No master (it is being restarted): the next one opens the file anew.
        }
      }
    } finally {
      this.busy = false;
    }
  }
}
