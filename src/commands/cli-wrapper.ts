import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { posixShellQuote as q } from '../util/shell-quote.js';

/** Node flags as this process got them, with `--import <bare name>` made absolute so they work from any cwd. */
function portableExecArgv(): string[] {
  const out: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    const next = argv[i + 1];
    if ((a === '--import' || a === '--loader') && next !== undefined && !next.startsWith('.') && !isAbsolute(next) && !next.includes(':')) {
      out.push(a, import.meta.resolve(next));
      i++;
    } else out.push(a);
  }
  return out;
}

/**
 * Writes `<data>/bin/starphleet`: the exact CLI this ship runs (same node, same code), pointed at this data dir.
 * Admirals' sessions put `<data>/bin` first on PATH, so `starphleet status` in a shell talks to this ship.
 */
export function writeCliWrapper(dataDir: string, cliScript: string): string {
  const dir = join(dataDir, 'bin');
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const path = join(dir, 'starphleet');
  const cmd = [process.execPath, ...portableExecArgv(), cliScript].map(q).join(' ');
  writeFileSync(path, `#!/bin/bash\n# Written by the running ship at start: do not edit.\nexport STARPHLEET_DATA=${q(dataDir)}\nexec ${cmd} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
