import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../util/atomic-write.js';

/** Per log file: where the receiver has everything up to (byte offset) and how many lines that is. */
export interface Cursor {
  offset: number;
  line: number;
}

/** null when there is no cursor file yet (the sink's first start on this data dir). */
export function loadCursors(file: string): Map<string, Cursor> | null {
  let raw: string;
  try {
    raw = readFileSync(file, 'utf8');
  } catch {
    return null;
  }
  const out = new Map<string, Cursor>();
  try {
    const v = JSON.parse(raw) as Record<string, { offset?: unknown; line?: unknown }>;
    for (const [path, c] of Object.entries(v)) {
      if (typeof c.offset === 'number' && typeof c.line === 'number' && c.offset >= 0 && c.line >= 0) out.set(path, { offset: c.offset, line: c.line });
    }
  } catch {
    // A torn or foreign file: start over from what the files hold now is not possible, so from their starts.
  }
  return out;
}

export function saveCursors(file: string, cursors: ReadonlyMap<string, Cursor>): Promise<void> {
  return writeFileAtomic(file, JSON.stringify(Object.fromEntries(cursors)), 0o600);
}
