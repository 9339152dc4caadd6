import { copyFileSync, existsSync, renameSync, statSync, truncateSync } from 'node:fs';
import { COUNT, numberSetting } from '../../settings/number-setting.js';

/** STARPHLEET_LOG_MAX_BYTES, default 10 MiB: past it an instance log is rotated to .1 (and .1 to .2). */
export function logMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  return numberSetting(env.STARPHLEET_LOG_MAX_BYTES, 'STARPHLEET_LOG_MAX_BYTES', 10 * 1024 * 1024, COUNT);
}

/**
 * Copy-then-truncate rotation. The instance holds its log open in append mode and outlives the ship, so the file
 * cannot be renamed away under it: after the truncate its next write lands at offset 0 of the same file.
 * Returns true when it rotated.
 */
export function rotateIfLarge(file: string, maxBytes: number, keep = 2): boolean {
  let size: number;
  try {
    size = statSync(file).size;
  } catch {
    return false;
  }
  if (size <= maxBytes) return false;
  for (let i = keep - 1; i >= 1; i--) if (existsSync(`${file}.${i}`)) renameSync(`${file}.${i}`, `${file}.${i + 1}`);
  copyFileSync(file, `${file}.1`);
  truncateSync(file, 0);
  return true;
}
