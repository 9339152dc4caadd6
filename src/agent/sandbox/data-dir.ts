import { chmodSync, chownSync, mkdirSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { dataPaths } from '../../data-dir/data-paths.js';
import type { SandboxHost } from './sandbox.js';
import type { SandboxUser } from './user.js';

/** Dirs on the way to what sandboxes mount (release trees, build dirs, caches, run dirs): passable, not listable. */
const PASSABLE = ['sandbox', 'tmp', 'services', 'cache', 'bases', 'volumes'];
const SHARED = 'data';

/**
 * bwrap sets a sandbox up as the sandbox user, so the paths it mounts must be reachable by that user: the data dir
 * and the dirs on the way become 0711 (enter by name, no listing). Everything else in the data dir (state.db, host
 * keys, the HQ checkout, repo clones, logs, layers, configs) is closed to group and others, and none of it is mounted.
 * The ship's shared tree (data orders) is root's, read by every sandbox. Idempotent, cheap: run before each sandbox.
 */
export function openDataDirForSandboxes(dataDir: string, host: SandboxHost): void {
  if (!host.switchUser) return;
  mkdirSync(dataDir, { recursive: true });
  checkPassable(resolve(dataDir));
  chmodSync(dataDir, 0o711);
  for (const name of PASSABLE) {
    mkdirSync(join(dataDir, name), { recursive: true });
    chmodSync(join(dataDir, name), 0o711);
  }
  // The ship's shared tree (data orders) is root's: every sandbox reads it (read-only), none writes it.
  const shared = join(dataDir, SHARED);
  mkdirSync(shared, { recursive: true });
  const st = statSync(shared);
  if (st.uid !== 0 || st.gid !== 0) chownSync(shared, 0, 0);
  if ((st.mode & 0o777) !== 0o755) chmodSync(shared, 0o755);
  for (const name of readdirSync(dataDir)) {
    if (PASSABLE.includes(name) || name === SHARED) continue;
    const path = join(dataDir, name);
    try {
      const s = statSync(path);
      if ((s.mode & 0o077) !== 0 && (s.isDirectory() || s.isFile())) chmodSync(path, s.mode & 0o700);
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Every dir above the data dir must let others pass (x), or bwrap, run as the sandbox user, cannot reach its mounts. */
function checkPassable(dataDir: string): void {
  for (let d = dirname(dataDir); ; d = dirname(d)) {
    if ((statSync(d).mode & 0o001) === 0) throw new Error(`the sandbox user cannot reach the data dir ${dataDir}: ${d} is not passable by others (chmod o+x ${d}, or use a data dir under a passable path)`);
    if (d === '/') return;
  }
}

/**
 * A service's own dirs closed to every other service: `<data>/services/<name>` (its releases) becomes root:<its gid>
 * 0710, so only its uid passes to the release a sandbox mounts, and no other service's uid, even where a mount went
 * wrong, reads its release files.
 */
export function openServiceDirs(dataDir: string, service: string, host: SandboxHost, user: SandboxUser): void {
  if (!host.switchUser) return;
  const dir = dataPaths.service(dataDir, service);
  mkdirSync(dir, { recursive: true });
  const st = statSync(dir);
  if (st.uid !== 0 || st.gid !== user.gid) chownSync(dir, 0, user.gid);
  if ((st.mode & 0o777) !== 0o710) chmodSync(dir, 0o710);
}
