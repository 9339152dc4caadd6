import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { copyFile, lstat, mkdir, readdir, readFile, readlink, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tar from 'tar';
import { archiveLimits } from '../../archive/limits.js';
import { unpackArchives } from '../../archive/unpack.js';
import { withLock } from './key-lock.js';
import { dataPaths } from '../../data-dir/data-paths.js';
import { tempSibling } from '../../util/atomic-write.js';
import type { LayerComponent, LayerRef } from '../types.js';

/** An archive with nothing in it (two zero blocks, gzipped): what a build that adds nothing yields. */
const EMPTY_ARCHIVE = gzipSync(Buffer.alloc(1024));
/** node-tar refuses to read an archive without entries, so unpacking knows this one by its name. */
export const EMPTY_LAYER_SHA256 = createHash('sha256').update(EMPTY_ARCHIVE).digest('hex');

/** All layers' entries carry this mtime: equal trees give equal bytes, whenever and wherever they were built. */
const EPOCH = new Date(0);

export interface TreeEntry {
  readonly type: 'file' | 'dir' | 'symlink';
  /** Only the owner's execute bit matters: the archive normalises modes (0644/0755). */
  readonly executable: boolean;
  readonly size: number;
  readonly target?: string;
}

/** Every path under root (relative, '/'-separated), sorted. Sockets, fifos and devices are left out (reported). */
export async function listTree(root: string, skipped: (path: string) => void = () => {}): Promise<Map<string, TreeEntry>> {
  const out = new Map<string, TreeEntry>();
  async function walk(rel: string): Promise<void> {
    const names = (await readdir(rel === '' ? root : join(root, rel))).sort();
    for (const name of names) {
      const path = rel === '' ? name : `${rel}/${name}`;
      const st = await lstat(join(root, path));
      if (st.isSymbolicLink()) out.set(path, { type: 'symlink', executable: false, size: 0, target: await readlink(join(root, path)) });
      else if (st.isDirectory()) {
        out.set(path, { type: 'dir', executable: true, size: 0 });
        await walk(path);
      } else if (st.isFile()) out.set(path, { type: 'file', executable: (st.mode & 0o100) !== 0, size: st.size });
      else skipped(path);
    }
  }
  await walk('');
  return new Map([...out.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Paths of `after` that are new or differ from `before` (content, type, exec bit, link target): what a build added. */
export async function changedPaths(beforeRoot: string, afterRoot: string, skipped?: (path: string) => void): Promise<string[]> {
  const before = await listTree(beforeRoot);
  const after = await listTree(afterRoot, skipped);
  const changed: string[] = [];
  for (const [path, a] of after) {
    const b = before.get(path);
    if (!b || b.type !== a.type) changed.push(path);
    else if (a.type === 'symlink' && a.target !== b.target) changed.push(path);
    else if (a.type === 'file' && (a.executable !== b.executable || a.size !== b.size || !(await sameBytes(join(beforeRoot, path), join(afterRoot, path)))))
      changed.push(path);
  }
  return changed;
}

async function sameBytes(a: string, b: string): Promise<boolean> {
  return (await readFile(a)).equals(await readFile(b));
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/**
 * Layers a build is using right now: not referenced by any release file yet, so a prune running meanwhile must keep them.
 * Counted, because two builds may share one (the same source in two services).
 */
const STORE_LOCK = 'layers';
const pinned = new Map<string, number>();

export function pinLayer(sha256: string): void {
  pinned.set(sha256, (pinned.get(sha256) ?? 0) + 1);
}

export function unpinLayer(sha256: string): void {
  const n = (pinned.get(sha256) ?? 0) - 1;
  if (n <= 0) pinned.delete(sha256);
  else pinned.set(sha256, n);
}

/**
 * Packs `paths` (relative to root, sorted, directories not recursed) into a deterministic .tar.gz and stores it under
 * layers/<sha256>.tar.gz unless an identical one is there already. The returned layer is pinned (see unpinLayer).
 */
export async function storeLayer(dataDir: string, root: string, paths: readonly string[], component: LayerComponent, version: string): Promise<LayerRef> {
  return intoStore(dataDir, component, version, async (tmp) => {
    if (paths.length === 0) await writeFile(tmp, EMPTY_ARCHIVE);
    else await tar.c({ file: tmp, cwd: root, gzip: true, portable: true, mtime: EPOCH, noDirRecurse: true, strict: true }, [...paths].sort());
  });
}

/**
 * Stores an archive made elsewhere (a registry version, #22) under layers/<sha256>.tar.gz, pinned like storeLayer's.
 * The caller has checked its members (registry/tar-check.ts); its sha256 is computed here, not trusted.
 */
export async function importLayer(dataDir: string, file: string, component: LayerComponent, version: string): Promise<LayerRef> {
  return intoStore(dataDir, component, version, (tmp) => copyFile(file, tmp));
}

/** The one way an archive enters layers/: written to a temp sibling by `make`, hashed, then pinned and renamed. */
async function intoStore(dataDir: string, component: LayerComponent, version: string, make: (tmp: string) => Promise<void>): Promise<LayerRef> {
  await mkdir(dataPaths.layers(dataDir), { recursive: true });
  const tmp = tempSibling(dataPaths.layer(dataDir, 'new'));
  try {
    await make(tmp);
    const sha256 = await sha256File(tmp);
    const size = (await stat(tmp)).size;
    const dest = dataPaths.layer(dataDir, sha256);
    // Under the store lock so a prune cannot delete the file between our check and our pin.
    await withLock(STORE_LOCK, async () => {
      pinLayer(sha256);
      // Stored once: an identical archive already there is the same bytes, so ours is simply dropped.
      if (await exists(dest)) await rm(tmp, { force: true });
      else await rename(tmp, dest);
    });
    return { component, version, sha256, size };
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Unpacks the layers in order into dest: later layers replace what earlier ones put at the same path. Every layer is
 * an untrusted archive (src/archive): nothing lands through a link, whichever layer made it, and the release's layers
 * together are bounded (STARPHLEET_ARCHIVE_MAX_*). Links of the layers the ship packed itself (source, build, config)
 * keep their targets (a venv's python -> /usr/bin/python3 means the sandbox's); a registry layer's must stay inside.
 */
export async function unpackLayers(dataDir: string, layers: readonly LayerRef[], dest: string): Promise<void> {
  const archives = layers
    .filter((l) => l.sha256 !== EMPTY_LAYER_SHA256)
    .map((l) => ({ file: dataPaths.layer(dataDir, l.sha256), label: `layer ${l.component}@${l.version} (${l.sha256.slice(0, 12)})`, links: l.component.startsWith('registry/') ? ('inside' as const) : ('leaf' as const) }));
  await unpackArchives(dest, archives, archiveLimits());
}

/** Deletes layer files no retained release references and no running build uses. Returns the deleted shas. */
export function collectLayers(dataDir: string, referenced: ReadonlySet<string>): Promise<string[]> {
  return withLock(STORE_LOCK, () => collectUnlocked(dataDir, referenced));
}

async function collectUnlocked(dataDir: string, referenced: ReadonlySet<string>): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dataPaths.layers(dataDir));
  } catch {
    return [];
  }
  const deleted: string[] = [];
  for (const name of names) {
    const m = /^([0-9a-f]{64})\.tar\.gz$/.exec(name);
    if (!m) continue;
    const sha = m[1] as string;
    if (referenced.has(sha) || pinned.has(sha)) continue;
    await rm(join(dataPaths.layers(dataDir), name), { force: true });
    deleted.push(sha);
  }
  return deleted;
}
