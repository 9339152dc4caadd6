import { readFileSync } from 'node:fs';
import type { PlaneKind } from '../protocol/plane.js';
import { planePaths } from '../../data-dir/plane-paths.js';
import { writeFileAtomicSync } from '../../util/atomic-write.js';
import { isSameProcess, processStartTime } from '../../util/proc-stat.js';

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

export function startTimeOf(pid: number): string {
  return processStartTime(pid) ?? '';
}

/** The recorded process still runs (same pid and start time, not a zombie): a pid alone may have been reused. */
export function isRecordedProcess(r: { readonly pid: number; readonly startTime: string }): boolean {
  return isSameProcess(r);
}
