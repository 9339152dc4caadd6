import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dataDirTag } from './net-names.js';
import type { SandboxLimits } from './settings.js';

const ROOT = '/sys/fs/cgroup';
const V1_CONTROLLERS = ['memory', 'pids', 'cpu'] as const;

/**
 * The sandboxes' cgroups live under the ship's own cgroup (so the ship's limits still bound them), in a folder of
 * this data dir's: two ships on one host never sweep or remove each other's.
 */
function folder(dataDir: string): string {
  return `starphleet-${dataDirTag(dataDir)}`;
}

/** One sandbox's cgroup: a dir per v1 controller, or one v2 dir. */
export interface Cgroup {
  readonly version: 1 | 2;
  readonly dirs: readonly string[];
}

/** The ship's own cgroup path for a v1 controller (or v2 when controller is ''), from /proc/self/cgroup. */
function ownPath(controller: string): string | null {
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const m = /^\d+:([^:]*):(.*)$/.exec(line);
    if (!m) continue;
    const names = (m[1] as string).split(',');
    if (controller === '' ? m[1] === '' : names.includes(controller)) return m[2] as string;
  }
  return null;
}

function write(file: string, value: string): void {
  writeFileSync(file, value);
}

/** 'v2' when the unified hierarchy is mounted at /sys/fs/cgroup with controllers, 'v1' when memory and pids are mounted there, else null. */
export function cgroupVersion(): 1 | 2 | null {
  if (existsSync(join(ROOT, 'cgroup.controllers'))) return 2;
  if (existsSync(join(ROOT, 'memory', 'cgroup.procs')) && existsSync(join(ROOT, 'pids', 'cgroup.procs'))) return 1;
  return null;
}

function v1Dirs(dataDir: string, id: string): string[] {
  const dirs: string[] = [];
  for (const c of V1_CONTROLLERS) {
    const mount = join(ROOT, c);
    if (!existsSync(join(mount, 'cgroup.procs'))) {
      if (c === 'cpu') continue; // CPU shares are nice to have; memory and pids are the safety limits.
      throw new Error(`cgroup v1 controller ${c} is not mounted at ${mount}`);
    }
    dirs.push(join(mount, ownPath(c) ?? '/', folder(dataDir), id));
  }
  return dirs;
}

function v2Dir(dataDir: string, id: string): { base: string; dir: string } {
  // The ship's own cgroup holds the ship, so (no internal processes) sandboxes go next to it, not under it.
  const own = ownPath('') ?? '/';
  const parent = own === '/' ? ROOT : join(ROOT, own, '..');
  return { base: join(parent, folder(dataDir)), dir: join(parent, folder(dataDir), id) };
}

/**
 * Creates the cgroup of one sandbox run (an instance or a build step) with the service's limits. Throws with the file
 * that could not be written: a sandbox is never started without the limits it was asked to have.
 */
export function createCgroup(dataDir: string, id: string, limits: SandboxLimits): Cgroup {
  if (!/^[A-Za-z0-9._-]+$/.test(id)) throw new Error(`bad cgroup name ${JSON.stringify(id)}`);
  const version = cgroupVersion();
  if (version === null) throw new Error(`no cgroup memory and pids controllers at ${ROOT}`);
  const set = (file: string, value: string): void => {
    try {
      write(file, value);
    } catch (e) {
      throw new Error(`cannot set ${file} to ${value}: ${(e as Error).message}`);
    }
  };
  if (version === 1) {
    const dirs = v1Dirs(dataDir, id);
    for (const d of dirs) mkdirSync(d, { recursive: true });
    for (const d of dirs) {
      if (d.includes('/memory/')) {
        set(join(d, 'memory.limit_in_bytes'), String(limits.memoryBytes));
        // Where swap accounting exists, swap counts too: otherwise the limit only moves the pages to swap.
        if (existsSync(join(d, 'memory.memsw.limit_in_bytes'))) set(join(d, 'memory.memsw.limit_in_bytes'), String(limits.memoryBytes));
      } else if (d.includes('/pids/')) set(join(d, 'pids.max'), String(limits.pids));
      else {
        set(join(d, 'cpu.cfs_period_us'), '100000');
        set(join(d, 'cpu.cfs_quota_us'), String(Math.max(1000, Math.round(limits.cpus * 100000))));
      }
    }
    return { version, dirs };
  }
  const { base, dir } = v2Dir(dataDir, id);
  mkdirSync(base, { recursive: true });
  set(join(base, '..', 'cgroup.subtree_control'), '+memory +pids +cpu');
  set(join(base, 'cgroup.subtree_control'), '+memory +pids +cpu');
  mkdirSync(dir, { recursive: true });
  set(join(dir, 'memory.max'), String(limits.memoryBytes));
  if (existsSync(join(dir, 'memory.swap.max'))) set(join(dir, 'memory.swap.max'), '0');
  set(join(dir, 'pids.max'), String(limits.pids));
  set(join(dir, 'cpu.max'), `${Math.max(1000, Math.round(limits.cpus * 100000))} 100000`);
  return { version, dirs: [dir] };
}

/** The files a launcher writes its pid into, before it starts anything. */
export function procsFiles(cg: Cgroup): string[] {
  return cg.dirs.map((d) => join(d, 'cgroup.procs'));
}

function field(file: string, name: string): number {
  try {
    const m = new RegExp(`^${name} (\\d+)$`, 'm').exec(readFileSync(file, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** How many processes the kernel's OOM killer ended in this cgroup. */
export function oomKills(cg: Cgroup): number {
  let n = 0;
  for (const d of cg.dirs) {
    if (cg.version === 2) n += field(join(d, 'memory.events'), 'oom_kill');
    else if (d.includes('/memory/')) n += field(join(d, 'memory.oom_control'), 'oom_kill');
  }
  return n;
}

/** How many forks the pid limit refused. */
export function pidsRefused(cg: Cgroup): number {
  for (const d of cg.dirs) {
    if (cg.version === 2) return field(join(d, 'pids.events'), 'max');
    if (d.includes('/pids/')) return field(join(d, 'pids.events'), 'max');
  }
  return 0;
}

/**
 * Removes the cgroup. The processes just killed take a moment to leave it (rmdir is EBUSY meanwhile), so a busy one is
 * tried again for a while in the background; one that never empties stays, harmless.
 */
export function removeCgroup(cg: Cgroup, triesLeft = 100): void {
  const busy = cg.dirs.filter((d) => {
    try {
      rmdirSync(d);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EBUSY';
    }
  });
  if (busy.length > 0 && triesLeft > 0) setTimeout(() => removeCgroup({ ...cg, dirs: busy }, triesLeft - 1), 100).unref();
}

/**
 * Removes empty sandbox cgroups older than minAgeMs: those of instances killed from outside (a ship's stop --all, a
 * test's cleanup) or of steps whose ship was killed. A younger one may be a sandbox being set up right now.
 */
export function sweepEmptyCgroups(dataDir: string, minAgeMs = 60_000): number {
  const version = cgroupVersion();
  if (version === null) return 0;
  const parents = folders(dataDir, version);
  let removed = 0;
  for (const parent of parents) {
    let names: string[];
    try {
      names = readdirSync(parent);
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(parent, name);
      try {
        if (!statSync(dir).isDirectory() || Date.now() - statSync(dir).mtimeMs < minAgeMs) continue;
        if (readFileSync(join(dir, 'cgroup.procs'), 'utf8').trim() !== '') continue;
        rmdirSync(dir);
        removed++;
      } catch {
        // Busy, or not a cgroup: left alone.
      }
    }
  }
  return removed;
}

function folders(dataDir: string, version: 1 | 2): string[] {
  return version === 1 ? V1_CONTROLLERS.map((c) => join(ROOT, c, ownPath(c) ?? '/', folder(dataDir))) : [v2Dir(dataDir, 'x').base];
}

/** The data dir's cgroup folders removed, with the empty cgroups in them, now (once): returns how many stay. */
export function removeShipCgroupsNow(dataDir: string): number {
  const version = cgroupVersion();
  if (version === null) return 0;
  let left = 0;
  for (const parent of folders(dataDir, version)) {
    if (!existsSync(parent)) continue;
    for (const name of readdirSync(parent)) {
      try {
        if (statSync(join(parent, name)).isDirectory()) rmdirSync(join(parent, name));
      } catch {
        // Busy (still has processes) or a control file.
      }
    }
    try {
      rmdirSync(parent);
    } catch {
      left++;
    }
  }
  return left;
}

/**
 * `stop --all`: the data dir's cgroup folders, emptied of the (now empty) cgroups of its sandboxes and removed. A
 * cgroup whose processes are still leaving is waited for a moment. Returns how many folders are left (0: all gone).
 */
export async function removeShipCgroups(dataDir: string, waitMs = 5000): Promise<number> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    const left = removeShipCgroupsNow(dataDir);
    if (left === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, 100));
  }
}
