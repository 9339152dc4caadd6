import { lstat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { checkServiceName, dataPaths, removeTree } from '../../data-dir/data-paths.js';

const RELEASE_ID = /^[0-9]{14}-[0-9a-f]{7}(-[0-9]+)?$/;

async function names(dir: string): Promise<string[]> {
  try {
    return await readdir(dir);
  } catch {
    return [];
  }
}

async function isDir(path: string): Promise<boolean> {
  try {
    return (await lstat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * At start, before anything is built or served: what a ship killed mid-write left behind goes. A release is whole only
 * with both its dir and its config (the config is written last, so a dir alone is a half-written release and a config
 * alone lost its tree); temp files of write-then-rename (`.tmp-*`) and build dirs under tmp/ have no owner any more.
 * No build of this data dir runs now: one ship per data dir, and not run at an update's hand-over (the old ship lives).
 * Returns what was removed, relative to the data dir.
 */
export async function sweepUnfinished(dataDir: string): Promise<string[]> {
  const removed: string[] = [];
  const drop = async (path: string): Promise<void> => {
    await removeTree(path);
    removed.push(path.slice(dataDir.length + 1));
  };
  for (const name of await names(dataPaths.tmp(dataDir))) await drop(join(dataPaths.tmp(dataDir), name));
  for (const dir of [dataPaths.layers(dataDir), dataPaths.configs(dataDir)]) {
    for (const name of await names(dir)) if (name.startsWith('.tmp-')) await drop(join(dir, name));
  }
  for (const service of await names(dataPaths.services(dataDir))) {
    try {
      checkServiceName(service);
    } catch {
      continue;
    }
    const home = dataPaths.service(dataDir, service);
    for (const name of await names(home)) if (name.startsWith('current.tmp-') || name.startsWith('.tmp-')) await drop(join(home, name));
    const releases = dataPaths.releases(dataDir, service);
    const entries = new Set(await names(releases));
    for (const name of entries) {
      const path = join(releases, name);
      if (name.startsWith('.tmp-')) await drop(path);
      else if (RELEASE_ID.test(name) && !entries.has(`${name}.json`)) await drop(path);
      else if (name.endsWith('.json') && RELEASE_ID.test(name.slice(0, -5)) && !(await isDir(join(releases, name.slice(0, -5))))) await drop(path);
    }
  }
  return removed;
}
