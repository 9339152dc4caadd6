import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { releaseHostResourcesUnder } from '../../src/agent/sandbox/host-registry.js';

const made: string[] = [];
function cleanUp(): void {
  if (process.env.KEEP_TMP) return;
  for (const d of made.splice(0)) {
    // A root ship's bridge, nftables table and volume mounts go with its data dir (rm -r must never descend into a mount).
    if (process.getuid?.() === 0) releaseHostResourcesUnder(d);
    rmSync(d, { recursive: true, force: true });
  }
}
process.on('exit', cleanUp);
// The test runner ends a file that ran out of time with a signal: 'exit' handlers do not run then.
for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    cleanUp();
    process.exit(128 + (signal === 'SIGTERM' ? 15 : 2));
  });
}

/** A fresh temp dir, removed when the test process exits (set KEEP_TMP=1 to keep it for a post-mortem). */
export function tmpDir(prefix = 'sp-'): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  // Passable (not listable) by others: a ship's sandbox user must reach a data dir made inside it.
  chmodSync(d, 0o711);
  made.push(d);
  return d;
}

/** Removes a dir made by tmpDir now rather than at exit (a helper called thousands of times in a soak). */
export function dropTmpDir(d: string): void {
  const i = made.indexOf(d);
  if (i >= 0) made.splice(i, 1);
  if (!process.env.KEEP_TMP) rmSync(d, { recursive: true, force: true });
}
