import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { getKv, recordHqSync, replaceHqProblems, setKv } from '../state/hq.js';
import { readHeadquarters } from './layout.js';
import { keepLastGoodOrders, redeployReasons, serviceChanges } from './merge.js';
import { HeadquartersClone } from './sync.js';
import type { DesiredState } from './types.js';

export interface HeadquartersOptions {
  readonly spec: string;
  readonly dataDir: string;
  readonly privateKey?: string;
  readonly pulseSeconds: number;
  readonly evalTimeoutMs: number;
  readonly db: Db;
  readonly log: Logger;
}

export type DesiredStateListener = (next: DesiredState, previous: DesiredState | null) => void | Promise<void>;

function short(sha: string | null | undefined): string {
  return sha ? sha.slice(0, 7) : 'none';
}

/**
 * The HQ side of the ship: every pulse, sync the clone; on a new commit, read it into a desired state and hand it to
 * the listeners. A failed sync or a broken commit never replaces what is in force.
 */
export class Headquarters {
  private readonly clone: HeadquartersClone;
  private desired: DesiredState | null = null;
  private readonly listeners: DesiredStateListener[] = [];
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = true;
  private lastFailure = '';
  /** When a sync last worked (ms since the epoch); null before the first (metrics: seconds since the last good sync). */
  lastGoodSyncAt: number | null = null;

  constructor(private readonly opts: HeadquartersOptions) {
    this.clone = new HeadquartersClone(opts.spec, join(opts.dataDir, 'hq'), {
      ...(opts.privateKey ? { privateKey: opts.privateKey } : {}),
      knownHostsFile: join(opts.dataDir, 'known_hosts'),
    });
  }

  get url(): string {
    return this.clone.display;
  }

  get current(): DesiredState | null {
    return this.desired;
  }

  /** The remote and the branch after `#` (undefined: the remote's HEAD), as followed: where ships/ is written back. */
  get remote(): { readonly url: string; readonly ref: string | undefined } {
    return { url: this.clone.url, ref: this.clone.ref };
  }

  /** The HQ checkout (at the newest commit, ships/ included: src/phleet reads the phleet's entries there). */
  get dir(): string {
    return this.clone.dir;
  }

  onChange(listener: DesiredStateListener): void {
    this.listeners.push(listener);
  }

  start(): void {
    this.stopped = false;
    void this.checkNow();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** Runs a check now (a webhook, a test); a check already running is followed by exactly one more. */
  checkNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.timer) clearTimeout(this.timer);
    // A check that throws (the state db on a full disk) is logged and tried again next pulse, never the ship's end.
    this.running = this.check().catch((e: unknown) => this.opts.log(`hq check failed: ${(e as Error).message}`)).finally(() => {
      this.running = null;
      if (this.stopped) return;
      if (this.again) {
        this.again = false;
        void this.checkNow();
      } else this.timer = setTimeout(() => void this.checkNow(), this.opts.pulseSeconds * 1000);
    });
    return this.running;
  }

  private async check(): Promise<void> {
    const { db, log } = this.opts;
    const r = await this.clone.sync();
    setKv(db, 'hq.checked_at', new Date().toISOString());
    if (!r.ok) {
      // Logged each time it changes, not every pulse: a remote that is down for an hour is one line, not 720.
      if (r.error !== this.lastFailure) {
        log(`hq sync failed (keeping ${short(this.desired?.sha)}): ${r.error}`);
        recordHqSync(db, { url: this.url, sha: this.desired?.sha ?? null, result: 'failed', message: r.error });
      }
      this.lastFailure = r.error;
      return;
    }
    this.lastGoodSyncAt = Date.now();
    if (this.lastFailure) log(`hq sync works again`);
    this.lastFailure = '';
    if (r.recloned) log(`hq clone was unusable: cloned again`);
    if (!r.changed && this.desired !== null) return;
    // A commit that changes only ships/ (the phleet's write-back) is not an HQ change.
    const runs = (await this.clone.runsSha().catch(() => null)) ?? r.sha;
    if (this.desired !== null && runs === this.desired.sha) return;
    const previous = this.desired;
    const read = await readHeadquarters(this.clone.dir, { sha: runs, evalTimeoutMs: this.opts.evalTimeoutMs });
    const next = keepLastGoodOrders(read, previous);
    const c = serviceChanges(previous, next);
    const redeploys = redeployReasons(previous, next);
    const parts = [
      c.added.length ? `added ${c.added.join(', ')}` : '',
      redeploys.length ? `changed ${redeploys.map((r) => `${r.name} (${r.why})`).join(', ')}` : '',
      c.removed.length ? `removed ${c.removed.join(', ')}` : '',
    ].filter(Boolean);
    const counts = `${next.admirals.length} admirals, ${next.problems.length} problems`;
    // The first read after a start has nothing in memory to compare with: the last start's sha (state db) tells.
    const lastRun = previous === null ? getKv(db, 'hq.sha') || null : null;
    if (previous === null && lastRun !== null && lastRun === next.sha) log(`hq ${short(next.sha)}: unchanged since the last start; ${next.services.length} services, ${counts}`);
    else if (previous === null && lastRun !== null) log(`hq ${short(lastRun)} -> ${short(next.sha)} (while the ship was stopped): services ${next.services.map((s) => s.name).join(', ') || 'none'}; ${counts}`);
    else log(`hq ${short(previous?.sha)} -> ${short(next.sha)}: ${parts.join('; ') || 'no service changes'}; ${counts}`);
    for (const p of next.problems) log(`hq problem ${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`);
    recordHqSync(db, { url: this.url, sha: next.sha, result: 'changed', message: parts.join('; ') });
    replaceHqProblems(db, next.sha, next.problems);
    setKv(db, 'hq.sha', next.sha ?? '');
    this.desired = next;
    for (const l of this.listeners) {
      try {
        await l(next, previous);
      } catch (e) {
        log(`hq listener failed: ${(e as Error).stack ?? String(e)}`);
      }
    }
  }
}
