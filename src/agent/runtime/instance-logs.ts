import { copyFileSync, existsSync, renameSync, statSync, truncateSync } from 'node:fs';

import { logMaxBytes } from '../../settings/agent-settings.js';
export { logMaxBytes };

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
