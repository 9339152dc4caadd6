import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SAFE_NAME } from '../../paths.js';
import { removeVolume, volumesDir } from './volumes.js';

/**
 * A preview is a service of its own (`<service>--<slug>`), so its /var/data, /tmp, build dirs and cache are on a volume
 * of its own (volumes.ts), never production's. What is a preview's own: the volume goes with the preview. A mark per
 * preview, `<data>/volumes/.previews/<name>` (root's: no sandbox reaches it; a service name never starts with `.`),
 * tells the sweep which volumes are previews' (a service removed from HQ keeps its volume, its data).
 */
function marks(dataDir: string): string {
  return join(volumesDir(dataDir), '.previews');
}

/** Marks the volumes of the previews to run, before anything of them runs (made idempotently each pulse). */
export function markPreviewVolumes(dataDir: string, names: Iterable<string>): void {
  const dir = marks(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const name of names) if (SAFE_NAME.test(name)) writeFileSync(join(dir, name), '', { flag: 'a', mode: 0o600 });
}

/** Removes a preview's volume (its /var/data with it) once nothing of it runs, then its mark. */
export function removePreviewVolume(dataDir: string, name: string): void {
  if (!SAFE_NAME.test(name)) return;
  removeVolume(dataDir, name);
  rmSync(join(marks(dataDir), name), { force: true });
}

/** Removes the volume of every marked preview that is gone (a ship that was down when its branch was deleted). */
export function sweepPreviewVolumes(dataDir: string, keep: (name: string) => boolean): void {
  let names: string[];
  try {
    names = readdirSync(marks(dataDir));
  } catch {
    return;
  }
  for (const n of names) if (!keep(n)) removePreviewVolume(dataDir, n);
}
