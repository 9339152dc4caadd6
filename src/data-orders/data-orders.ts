import { mkdir } from 'node:fs/promises';
import { basename } from 'node:path';
import { fetchCommit, resolveRef } from '../agent/releases/source.js';
import { dataPaths } from '../data-dir/data-paths.js';
import type { GitAccess } from '../headquarters/git.js';
import type { DataRemote, DesiredState } from '../headquarters/types.js';
import type { Logger } from '../log.js';
import { redactCredentials } from '../util/redact.js';
import type { Db } from '../state/db.js';
import { setKv } from '../state/hq.js';
import { checkDataPath, ensureTree, ordersOnDisk, pruneTrees, removeOrder, switchLink, treeKey } from './tree.js';
import { linkSharedData, mountedVolumes } from '../agent/sandbox/volumes.js';

/** One data order as status shows it (state.db kv `data.orders`, read by agent/status-json.ts). */
export interface DataOrderStatus {
  readonly path: string;
  readonly file: string;
  readonly giturl: string;
  /** The sha whose tree /var/data/<path> shows now; null before the first good sync. */
  readonly sha: string | null;
  readonly state: 'synced' | 'failed';
  /** Why the last sync failed (the last good tree, if any, stays in place). */
  readonly message: string;
}

export interface DataOrdersOptions {
  readonly dataDir: string;
  readonly db: Db;
  readonly access: GitAccess;
  readonly pulseSeconds: number;
  readonly log: Logger;
  /** The desired state HQ gives now (null before the first read). */
  readonly desired: () => DesiredState | null;
}

/**
 * HQ `<path>/remote` data orders: every pulse, each repo's ref is resolved and, when it moved, its tree at the new sha
 * is made beside the old one and /var/data/<path> switched to it with one rename. Instances see /var/data/<path>
 * change under them; a sync that fails leaves the last good tree linked and says why (log once, status).
 */
export class DataOrders {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private readonly status = new Map<string, DataOrderStatus>();
  /** What each order links now and linked before (kept one sync longer: a reader may still be in it). */
  private readonly linked = new Map<string, { now: string; before: string | null }>();

  constructor(private readonly o: DataOrdersOptions) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  /** A new HQ state: sync now (one running sync is followed by exactly one more). */
  syncNow(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    if (this.timer) clearTimeout(this.timer);
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.syncAll()
        .catch((e: unknown) => this.o.log(`data orders: sync failed: ${(e as Error).stack ?? String(e)}`))
        .finally(() => {
          this.running = null;
          const next = this.again ? 0 : this.o.pulseSeconds * 1000;
          this.again = false;
          this.schedule(next);
        });
    }, ms);
  }

  private async syncAll(): Promise<void> {
    const desired = this.o.desired();
    if (!desired) return;
    const root = dataPaths.shared(this.o.dataDir);
    await mkdir(root, { recursive: true });
    const wanted = new Set(desired.dataRemotes.map((r) => treeKey(r.path)));
    for (const key of await ordersOnDisk(root)) {
      if (wanted.has(key)) continue;
      await removeOrder(root, key).catch((e: unknown) => this.o.log(`data ${key}: removing it failed: ${(e as Error).message}`));
      this.linked.delete(key);
      this.o.log(`data ${key.split('+').join('/')}: order removed: /var/data/${key.split('+').join('/')} is gone`);
    }
    for (const path of [...this.status.keys()]) if (!wanted.has(treeKey(path))) this.status.delete(path);
    // One after another: a data order is a small tree, and git fetches are what a 2-core ship has least of.
    for (const remote of desired.dataRemotes) await this.syncOne(root, remote);
    setKv(this.o.db, 'data.orders', JSON.stringify([...this.status.values()].sort((a, b) => (a.path < b.path ? -1 : 1))));
  }

  private async syncOne(root: string, r: DataRemote): Promise<void> {
    const key = treeKey(r.path);
    const before = this.status.get(r.path);
    const giturl = redactCredentials(r.giturl);
    const current = this.linked.get(key)?.now ?? before?.sha ?? null;
    try {
      const bad = checkDataPath(r.path);
      if (bad) throw new Error(bad);
      const sha = await resolveRef(r.giturl, r.ref, this.o.access, this.o.dataDir);
      if (sha !== current) {
        const repo = await fetchCommit(this.o.dataDir, r.giturl, sha, this.o.access);
        const tree = await ensureTree(root, r.path, repo, sha);
        await switchLink(root, r.path, tree);
        // Each service's /var/data is its own volume: the order appears there as a link into the ship's tree.
        for (const v of mountedVolumes(this.o.dataDir)) linkSharedData(this.o.dataDir, v);
        this.linked.set(key, { now: sha, before: current });
        this.o.log(`data ${r.path}: /var/data/${r.path} is ${giturl}${r.ref ? `#${r.ref}` : ''} at ${sha.slice(0, 7)}${current ? ` (was ${current.slice(0, 7)})` : ''}`);
      }
      const l = this.linked.get(key);
      await pruneTrees(root, r.path, [basename(l?.now ?? sha), ...(l?.before ? [l.before] : [])]);
      if (before?.state === 'failed') this.o.log(`data ${r.path}: syncs again`);
      this.status.set(r.path, { path: r.path, file: r.file, giturl, sha, state: 'synced', message: '' });
    } catch (e) {
      const message = redactCredentials((e as Error).message);
      const keeps = current ? `; /var/data/${r.path} keeps ${current.slice(0, 7)}` : `; /var/data/${r.path} has no tree yet`;
      if (before?.message !== message + keeps) this.o.log(`data ${r.path}: sync of ${giturl} failed: ${message}${keeps}`);
      this.status.set(r.path, { path: r.path, file: r.file, giturl, sha: current, state: 'failed', message: message + keeps });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }
}
