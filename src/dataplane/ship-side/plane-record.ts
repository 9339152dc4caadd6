import { readFileSync } from 'node:fs';
import type { PlaneKind } from '../protocol/plane.js';
import { planePaths } from '../../data-dir/plane-paths.js';
import { writeFileAtomicSync } from '../../util/atomic-write.js';

/** The running data plane as it recorded itself: pid + start time name the process (a pid alone is reused). */
export interface PlaneRecord {
  readonly pid: number;
  readonly startTime: string;
  readonly version: string;
  readonly kind: PlaneKind;
  readonly listen: string;
  readonly port: number;
}

export function readPlaneRecord(dataDir: string): PlaneRecord | null {
  try {
    const r = JSON.parse(readFileSync(planePaths.record(dataDir), 'utf8')) as PlaneRecord;
    return Number.isInteger(r.pid) && typeof r.startTime === 'string' ? r : null;
  } catch {
    return null;
  }
}

/** Written then renamed: a ship reads the old record or the new one, never half of one. */
export function writePlaneRecord(dataDir: string, r: PlaneRecord): void {
  writeFileAtomicSync(planePaths.record(dataDir), `${JSON.stringify(r)}\n`, 0o600);
}

/** Field 22 of /proc/<pid>/stat (start time in clock ticks since boot) and the state, or null when there is no such pid. */
function stat(pid: number): { state: string; startTime: string } | null {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', startTime: rest[19] ?? '' };
  } catch {
    return null;
  }
}

export function startTimeOf(pid: number): string {
  return stat(pid)?.startTime ?? '';
}

/** The recorded process still runs (same pid and start time, not a zombie): a pid alone may have been reused. */
export function isRecordedProcess(r: { readonly pid: number; readonly startTime: string }): boolean {
  const s = stat(r.pid);
  return s !== null && s.state !== 'Z' && s.state !== 'X' && s.startTime === r.startTime;
}
