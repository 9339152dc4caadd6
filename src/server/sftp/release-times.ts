import { execFile } from 'node:child_process';
import { readFile, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { promisify } from 'node:util';
import * as tar from 'tar';
import { dataPaths } from '../../data-dir/data-paths.js';
import { repoDir } from '../../agent/releases/source.js';
import type { LayerRef, ReleaseConfig } from '../../agent/types.js';

const run = promisify(execFile);

/**
 * When each path of a release tree was made, in seconds. Layer archives carry mtime 0 on purpose (equal trees give
 * equal bytes), so a release unpacked from them would show 1970: the view shows instead, for each path, the time of
 * the last layer that holds it — the commit time of the sha for the source layer, the time the archive was stored
 * for the build and config layers.
 */
export interface ReleaseTimes {
  /** The release itself (its root directory): when it was made. */
  readonly created: number;
  /** Relative path ('/'-separated, no trailing slash) -> time. */
  readonly paths: ReadonlyMap<string, number>;
}

/** Releases never change once built, so their times are worked out once; few releases are looked at in a session. */
const cache = new Map<string, Promise<ReleaseTimes | null>>();
const CACHE_LIMIT = 64;

/** Times for the release tree at `dir` (services/<name>/releases/<id>), or null when it has no readable config. */
export function releaseTimes(dataDir: string, dir: string): Promise<ReleaseTimes | null> {
  let p = cache.get(dir);
  if (p === undefined) {
    p = compute(dataDir, dir).catch(() => null);
    if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value as string);
    cache.set(dir, p);
    // A release not finished yet (no config) may be finished at the next look.
    void p.then((t) => {
      if (t === null) cache.delete(dir);
    });
  }
  return p;
}

async function compute(dataDir: string, dir: string): Promise<ReleaseTimes> {
  const config = JSON.parse(await readFile(join(dirname(dir), `${basename(dir)}.json`), 'utf8')) as ReleaseConfig;
  const created = seconds(Date.parse(config.createdAt)) ?? seconds((await stat(dir)).mtimeMs) ?? 0;
  const paths = new Map<string, number>();
  for (const layer of config.layers) {
    const file = dataPaths.layer(dataDir, layer.sha256);
    const when = (await layerTime(dataDir, config, layer, file)) ?? created;
    await tar.t({
      file,
      onReadEntry: (entry) => {
        const p = entry.path.replace(/^\.\//, '').replace(/\/+$/, '');
        if (p !== '' && p !== '.') paths.set(p, when);
      },
    }).catch(() => {
      // The empty layer is not a readable archive for node-tar (see layers.ts): it holds nothing.
    });
  }
  return { created, paths };
}

async function layerTime(dataDir: string, config: ReleaseConfig, layer: LayerRef, file: string): Promise<number | null> {
  if (layer.component === 'source') {
    const committed = await run('git', ['--git-dir', repoDir(dataDir, config.giturl), 'show', '-s', '--format=%ct', config.sha], { timeout: 10_000 })
      .then((r) => Number(r.stdout.trim()))
      .catch(() => NaN);
    if (Number.isFinite(committed) && committed > 0) return committed;
  }
  return stat(file).then((s) => seconds(s.mtimeMs)).catch(() => null);
}

function seconds(ms: number): number | null {
  return Number.isFinite(ms) && ms > 0 ? Math.floor(ms / 1000) : null;
}

/** The time to show for `rel` (relative to the release root): its layer's, or the release's own when no layer names it. */
export function timeOf(times: ReleaseTimes, rel: string): number {
  return rel === '' ? times.created : times.paths.get(rel) ?? times.created;
}
