import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const made: string[] = [];
process.on('exit', () => {
  if (process.env.KEEP_TMP) return;
  for (const d of made) rmSync(d, { recursive: true, force: true });
});

/** A fresh temp dir, removed when the test process exits (set KEEP_TMP=1 to keep it for a post-mortem). */
export function tmpDir(prefix = 'sp-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  // Passable (not listable) by others: a ship's sandbox user must reach a data dir made inside it.
  chmodSync(d, 0o711);
  made.push(d);
  return d;
}
