import { chmodSync, chownSync, lstatSync, mkdirSync } from 'node:fs';
import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { SAFE_NAME } from '../../paths.js';
import { dataPaths } from '../data-paths.js';
import type { SandboxHost } from './sandbox.js';

/** `<data>/preview-data/`: one directory per preview, each its instances' /var/data. */
function root(dataDir: string): string {
  return join(dataDir, 'preview-data');
}

/**
 * A preview's own /var/data (docs/previews.md): made on its first start, the sandbox user's like the shared tree, so a
 * preview never reads or writes production's data. Its parent is the ship's (0711): nothing in a sandbox can put a
 * link where the ship makes or removes these.
 */
export function ensurePreviewShare(dataDir: string, service: string, host: SandboxHost): string {
  const dir = dataPaths.previewData(dataDir, service);
  mkdirSync(root(dataDir), { recursive: true, mode: 0o711 });
  try {
    mkdirSync(dir, { mode: 0o750 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
  }
  const st = lstatSync(dir);
  if (!st.isDirectory()) throw new Error(`${dir} is not a directory: the preview gets no /var/data`);
  if (host.switchUser && (st.uid !== host.user.uid || st.gid !== host.user.gid)) chownSync(dir, host.user.uid, host.user.gid);
  if ((st.mode & 0o777) !== 0o750) chmodSync(dir, 0o750);
  return dir;
}

/**
 * Removes a preview's /var/data once nothing of it runs. fs.rm unlinks what the preview made, links included, and never
 * follows one (as root it needs no chmod on the way, which would).
 */
export async function removePreviewShare(dataDir: string, service: string): Promise<void> {
  if (!SAFE_NAME.test(service)) return;
  await rm(dataPaths.previewData(dataDir, service), { recursive: true, force: true });
}

/** Removes every preview share whose preview is gone (a ship that was down when its branch was deleted). */
export async function sweepPreviewShares(dataDir: string, keep: (service: string) => boolean): Promise<void> {
  let names: string[];
  try {
    names = await readdir(root(dataDir));
  } catch {
    return;
  }
  for (const n of names) if (!keep(n)) await removePreviewShare(dataDir, n);
}
