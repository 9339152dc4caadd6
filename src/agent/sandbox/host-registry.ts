import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { removeShipCgroupsNow } from './cgroups.js';
import { tryHostCmd } from './host-cmd.js';
import { dataDirTag } from './net-names.js';

/**
 * /run/starphleet/<tag>.json: which data dir made which bridge and table. A ship sweeps those of data dirs that no
 * longer exist (removed with their instances), and a test's temp dir takes its ships' host state along when it goes.
 * /run is a tmpfs: after a reboot nothing of it (nor the bridges) is left.
 */
const REGISTRY = '/run/starphleet';

export interface HostResources {
  readonly dataDir: string;
  readonly bridge: string;
  readonly table: string;
}

function file(dataDir: string): string {
  return join(REGISTRY, `${dataDirTag(dataDir)}.json`);
}

export function recordHostResources(dataDir: string, r: { bridge: string; table: string }): void {
  try {
    mkdirSync(REGISTRY, { recursive: true, mode: 0o700 });
    writeFileSync(file(dataDir), JSON.stringify({ dataDir: resolve(dataDir), ...r }), { mode: 0o600 });
  } catch {
    // Not root, or /run read-only: the sweep of vanished data dirs is a nicety, the ship works without it.
  }
}

export function forgetHostResources(dataDir: string): void {
  rmSync(file(dataDir), { force: true });
}

function records(): HostResources[] {
  let names: string[];
  try {
    names = readdirSync(REGISTRY);
  } catch {
    return [];
  }
  const out: HostResources[] = [];
  for (const n of names) {
    if (!n.endsWith('.json')) continue;
    try {
      const r = JSON.parse(readFileSync(join(REGISTRY, n), 'utf8')) as HostResources;
      if (typeof r.dataDir === 'string' && /^spb[0-9a-f]{10}$/.test(r.bridge) && /^starphleet_[0-9a-f]{10}$/.test(r.table)) out.push(r);
    } catch {
      // Half written: its ship writes it again.
    }
  }
  return out;
}

/** Mount points at or under root (deepest first), from /proc/self/mountinfo. */
export function mountsUnder(root: string): string[] {
  const base = resolve(root);
  let text: string;
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const mp = line.split(' ')[4];
    if (mp === undefined) continue;
    const path = mp.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));
    if (path === base || path.startsWith(base + sep)) out.push(path);
  }
  return out.sort((a, b) => b.length - a.length);
}

/** Unmounts (lazily: a sandbox still holding one keeps it until it ends) every mount under root; loop devices go with them. */
export function unmountUnder(root: string): number {
  let n = 0;
  for (const mp of mountsUnder(root)) if (tryHostCmd('umount', ['-l', mp])) n++;
  return n;
}

function release(r: HostResources): void {
  tryHostCmd('nft', ['delete', 'table', 'inet', r.table]);
  if (existsSync(`/sys/class/net/${r.bridge}`)) tryHostCmd('ip', ['link', 'del', r.bridge]);
  unmountUnder(r.dataDir);
  removeShipCgroupsNow(r.dataDir);
  rmSync(file(r.dataDir), { force: true });
}

/** At a ship's start: the bridges, tables and mounts of data dirs that are gone (a test's, a removed ship's). */
export function sweepVanishedShips(): string[] {
  const gone: string[] = [];
  for (const r of records()) {
    if (existsSync(r.dataDir)) continue;
    release(r);
    gone.push(r.dataDir);
  }
  return gone;
}

/** Before a tree is removed (a test's temp dir): what ships with data dirs inside it made on the host goes first. */
export function releaseHostResourcesUnder(root: string): void {
  const base = resolve(root);
  for (const r of records()) if (r.dataDir === base || r.dataDir.startsWith(base + sep)) release(r);
  unmountUnder(base);
}
