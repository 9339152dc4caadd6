import type { Stats } from 'node:fs';
import { lstat, readdir, readlink, realpath } from 'node:fs/promises';
import { join, posix, relative } from 'node:path';
import { insideRoot, SAFE_NAME } from '../../paths.js';
import { dataPaths } from '../../data-dir/data-paths.js';
import { releaseTimes, timeOf } from './release-times.js';
import { registryPaths } from '../../data-dir/registry-paths.js';

/**
 * The read-only SFTP view of what a ship runs, mapped onto the data dir (layout: src/agent/types.ts):
 *
 *   /services/<name>/current/...        the release that serves now (resolved at each request)
 *   /services/<name>/releases/<id>/...  retained releases
 *   /configs/<name>.json                the serving release's config
 *   /layers/<sha256>.tar.gz             layer archives
 *   /logs/<name>/...                    build and instance logs
 *   /data/...                           the shared /var/data tree
 *
 * Every real path is confined to a "jail" (a release tree, the logs dir, ...): a symlink is shown as a link, but
 * anything that resolves outside its jail does not exist as far as the view is concerned.
 */

const TOP = ['services', 'configs', 'layers', 'logs', 'data', 'registry', 'incoming'] as const;
/**
 * Who sees what: admirals the whole view (plus /registry/ and their uploads in /incoming/), another ship of the
 * phleet (user `ship`) only the registry: /registry/configs, /registry/layers, and /layers/ showing the registry's
 * archives (deploy-tools' agent layout).
 */
export type ViewScope = 'admiral' | 'ship';
const SHIP_TOP = ['registry', 'layers'] as const;
const SHA_NAME = /^[0-9a-f]{64}$/;
const LAYER_NAME = /^[0-9a-f]{64}\.tar\.gz$/;
const CONFIG_NAME = /^[A-Za-z0-9_~-][A-Za-z0-9._~-]*\.json$/;
const RELEASE_ID = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

/** A node of the view: virtual (made-up directory) or real (a path on disk inside its jail). */
export type Node =
  | { readonly kind: 'virtual'; readonly path: string; readonly entries: () => Promise<string[]>; readonly backing?: string }
  | {
      readonly kind: 'real';
      readonly path: string;
      readonly real: string;
      readonly jail: string;
      readonly filter?: (name: string) => boolean;
      /** The jail is a release tree: its paths show the time of the layer that made them (release-times.ts). */
      readonly release?: true;
    };

/** What a view path shows: the node, its lstat (null for a made-up directory) and the time to show (null: its own). */
export interface Resolved {
  readonly node: Node;
  readonly stats: Stats | null;
  readonly real: string | null;
  readonly mtime: number | null;
}

/** A directory entry of the view. */
export interface Listed {
  readonly name: string;
  readonly stats: Stats | null;
  readonly mtime: number | null;
}

/** Cleans a client path into an absolute view path; `..` never climbs above `/`. */
export function normalizeViewPath(p: string, cwd = '/'): string {
  const joined = p.startsWith('/') ? p : `${cwd}/${p}`;
  const parts: string[] = [];
  for (const seg of joined.split('/')) {
    if (seg === '' || seg === '.') continue;
    if (seg === '..') parts.pop();
    else parts.push(seg);
  }
  return `/${parts.join('/')}`;
}

async function dirNames(dir: string, keep: (name: string, isDir: boolean) => boolean): Promise<string[]> {
  try {
    const entries = await readdir(dir, { withFileTypes: true });
    return entries.filter((e) => keep(e.name, e.isDirectory())).map((e) => e.name).sort();
  } catch {
    return [];
  }
}

export class DeployedView {
  constructor(
    private readonly dataDir: string,
    private readonly scope: ViewScope = 'admiral',
  ) {}

  /** Maps a view path to its node, without touching the final component (no existence check). */
  private async locate(path: string): Promise<Node | null> {
    const parts = path.split('/').filter(Boolean);
    const [top, a, b, c, ...rest] = parts;
    if (top === undefined) return { kind: 'virtual', path, entries: async () => (this.scope === 'ship' ? [...SHIP_TOP] : [...TOP]) };
    if (this.scope === 'ship') return this.shipNode(path, top, [a, b, c, ...rest]);
    switch (top) {
      case 'services': {
        if (a === undefined) return { kind: 'virtual', path, entries: () => dirNames(dataPaths.services(this.dataDir), (n, dir) => dir && SAFE_NAME.test(n)) };
        if (!SAFE_NAME.test(a)) return null;
        const svc = join(dataPaths.services(this.dataDir), a);
        if (b === undefined) {
          return { kind: 'virtual', path, backing: svc, entries: () => dirNames(svc, (n) => n === 'current' || n === 'releases') };
        }
        if (b === 'current') {
          const target = await this.currentRelease(a);
          return target === null ? null : this.jailed(path, target, [c, ...rest], true);
        }
        if (b !== 'releases') return null;
        const releases = join(svc, 'releases');
        if (c === undefined) return { kind: 'virtual', path, backing: releases, entries: () => dirNames(releases, (n, dir) => dir && RELEASE_ID.test(n)) };
        if (!RELEASE_ID.test(c)) return null;
        return this.jailed(path, join(releases, c), rest, true);
      }
      case 'configs':
        return this.flat(path, dataPaths.configs(this.dataDir), [a, b, c, ...rest], (n) => CONFIG_NAME.test(n));
      case 'layers':
        return this.flat(path, dataPaths.layers(this.dataDir), [a, b, c, ...rest], (n) => LAYER_NAME.test(n));
      case 'logs':
        return this.jailed(path, dataPaths.logsRoot(this.dataDir), [a, b, c, ...rest]);
      case 'data':
        return this.jailed(path, dataPaths.shared(this.dataDir), [a, b, c, ...rest]);
      case 'registry':
        return this.registryNode(path, [a, b, c, ...rest]);
      case 'incoming':
        return this.flat(path, registryPaths.incoming(this.dataDir), [a, b, c, ...rest], (n) => SHA_NAME.test(n));
      default:
        return null;
    }
  }

  /** /registry/configs/<N>.json and /registry/layers/<sha256>.tar.gz (src/registry writes both). */
  private registryNode(path: string, rest: (string | undefined)[]): Node | null {
    const [dir, ...more] = rest;
    if (dir === undefined) return { kind: 'virtual', path, entries: async () => ['configs', 'layers'] };
    if (dir === 'configs') return this.flat(path, registryPaths.configs(this.dataDir), more, (n) => CONFIG_NAME.test(n));
    if (dir === 'layers') return this.flat(path, registryPaths.layers(this.dataDir), more, (n) => LAYER_NAME.test(n));
    return null;
  }

  /** A ship's scope: the registry, and /layers/ as the registry's archives; nothing else exists. */
  private shipNode(path: string, top: string, rest: (string | undefined)[]): Node | null {
    if (top === 'registry') return this.registryNode(path, rest);
    if (top === 'layers') return this.flat(path, registryPaths.layers(this.dataDir), rest, (n) => LAYER_NAME.test(n));
    return null;
  }

  /** A directory of files with fixed names (configs, layers): one level, names filtered. */
  private flat(path: string, dir: string, rest: (string | undefined)[], filter: (n: string) => boolean): Node | null {
    const [name, ...more] = rest.filter((x): x is string => x !== undefined);
    if (name === undefined) return { kind: 'real', path, real: dir, jail: dir, filter };
    if (more.length > 0 || !filter(name)) return null;
    return { kind: 'real', path, real: join(dir, name), jail: dir };
  }

  private jailed(path: string, jail: string, rest: (string | undefined)[], release = false): Node | null {
    const rel = rest.filter((x): x is string => x !== undefined).join('/');
    const real = insideRoot(jail, rel);
    if (real === null) return null;
    return release ? { kind: 'real', path, real, jail, release: true } : { kind: 'real', path, real, jail };
  }

  /** The time to show for `real` (inside the resolved `jail`): the layer's for a release, null (its own) elsewhere. */
  private async timeIn(node: Node, jail: string, real: string): Promise<number | null> {
    if (node.kind !== 'real' || node.release !== true) return null;
    const times = await releaseTimes(this.dataDir, jail);
    return times === null ? null : timeOf(times, relative(jail, real));
  }

  /** The release dir `current` points at, only if it is one of that service's releases. */
  private async currentRelease(service: string): Promise<string | null> {
    const releases = join(dataPaths.services(this.dataDir), service, 'releases');
    try {
      const target = await realpath(join(dataPaths.services(this.dataDir), service, 'current'));
      const jail = await realpath(releases);
      return insideRoot(jail, target) !== null && target !== jail ? target : null;
    } catch {
      return null;
    }
  }

  /**
   * Resolves a view path to what it shows: for real nodes, `follow` resolves symlinks (stat, open) and refuses
   * anything that lands outside the jail; without it (lstat, readlink) the link itself is returned.
   */
  async resolve(viewPath: string, follow: boolean): Promise<Resolved | null> {
    const node = await this.locate(normalizeViewPath(viewPath));
    if (node === null) return null;
    if (node.kind === 'virtual') {
      // A made-up directory standing for a real one (a service, its releases) exists only while that one does.
      const backing = node.backing === undefined ? null : await lstat(node.backing).catch(() => null);
      if (node.backing !== undefined && !backing?.isDirectory()) return null;
      return { node, stats: null, real: null, mtime: backing ? Math.floor(backing.mtimeMs / 1000) : null };
    }
    try {
      const jail = await realpath(node.jail);
      if (follow) {
        const real = await realpath(node.real);
        if (insideRoot(jail, real) === null) return null;
        return { node, stats: await lstat(real), real, mtime: await this.timeIn(node, jail, real) };
      }
      // The parent must resolve inside the jail; the last component is taken as it is (a link stays a link).
      const parent = await realpath(join(node.real, '..'));
      const real = node.real === node.jail ? jail : join(parent, posix.basename(node.real));
      if (insideRoot(jail, real) === null) return null;
      return { node, stats: await lstat(real), real, mtime: await this.timeIn(node, jail, real) };
    } catch {
      return null;
    }
  }

  /** Names in a directory of the view, each with its lstat (null for virtual entries). */
  async list(viewPath: string): Promise<Listed[] | null> {
    const r = await this.resolve(viewPath, true);
    if (r === null) return null;
    if (r.node.kind === 'virtual') {
      const names = await r.node.entries();
      const out: Listed[] = [];
      for (const name of names) {
        const child = await this.resolve(posix.join(r.node.path, name), false);
        if (child) out.push({ name, stats: child.stats, mtime: child.mtime });
      }
      return out;
    }
    if (!r.stats?.isDirectory() || r.real === null) return null;
    const dir = r.real;
    const filter = r.node.filter;
    const names = (await readdir(dir)).filter((n) => (filter ? filter(n) : true)).sort();
    const jail = await realpath(r.node.jail);
    const out: Listed[] = [];
    for (const name of names) {
      const st = await lstat(join(dir, name)).catch(() => null);
      if (st) out.push({ name, stats: st, mtime: await this.timeIn(r.node, jail, join(dir, name)) });
    }
    return out;
  }

  /** The text of a link inside the view (as stored: the view never rewrites it). */
  async readlink(viewPath: string): Promise<string | null> {
    const r = await this.resolve(viewPath, false);
    if (r === null || r.real === null || !r.stats?.isSymbolicLink()) return null;
    return readlink(r.real);
  }
}
