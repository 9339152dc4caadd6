import { join } from 'node:path';
import type { Logger } from '../log.js';
import type { Db } from '../state/db.js';
import { getKv, recordHqSync, replaceHqProblems, setKv } from '../state/hq.js';
import { readHeadquarters } from './layout.js';
import { keepLastGoodOrders, redeployReasons, serviceChanges } from './merge.js';
import { HeadquartersClone } from './sync.js';
import { HqContact, parseContact, type HqContactState } from './contact.js';
import type { DesiredState } from './types.js';
import { hqBackoffMaxSeconds, hqTimeoutSeconds } from '../settings/env-settings.js';

export interface HeadquartersOptions {
  readonly spec: string;
  readonly dataDir: string;
  readonly privateKey?: string;
  readonly pulseSeconds: number;
  readonly evalTimeoutMs: number;
  readonly db: Db;
  readonly log: Logger;
  /** Random source of the jitter (tests); Math.random by default. */
  readonly random?: () => number;
}

/** Default cap of the backoff while HQ's host refuses or does not answer (STARPHLEET_HQ_BACKOFF_MAX, seconds). */
export const HQ_BACKOFF_MAX_SECONDS = 120;

/** A check asked for (webhook, `sync`) starts at most this often: a flood of them is one ls-remote a second, not more. */
const MIN_ASKED_GAP_MS = 1000;

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
  private readonly contactRecord: HqContact;
  private lastStart = 0;
  private backoffProblem = '';

  constructor(private readonly opts: HeadquartersOptions) {
    // STARPHLEET_HQ_TIMEOUT: how long a pulse's ls-remote may take before HQ counts as unreachable (a dropped
    // packet hangs a connect for minutes otherwise).
    const peekSeconds = hqTimeoutSeconds();
    this.clone = new HeadquartersClone(
      opts.spec,
      join(opts.dataDir, 'hq'),
      { ...(opts.privateKey ? { privateKey: opts.privateKey } : {}), knownHostsFile: join(opts.dataDir, 'known_hosts') },
      120_000,
      peekSeconds * 1000,
    );
    this.contactRecord = new HqContact({ pulseMs: opts.pulseSeconds * 1000, maxBackoffMs: HQ_BACKOFF_MAX_SECONDS * 1000, ...(opts.random ? { random: opts.random } : {}) });
    this.contactRecord.restore(parseContact(getKv(opts.db, 'hq.contact')));
  }

  /** When HQ last answered, whether it fails now and since when, and when the next check is (status, phleet status). */
  get contact(): HqContactState {
    return this.contactRecord.state;
  }

  /** STARPHLEET_HQ_BACKOFF_MAX from HQ .starphleet, else the ship's env; a bad value is said once and the default used. */
  private maxBackoffMs(): number {
    try {
      return hqBackoffMaxSeconds(this.desired?.env, HQ_BACKOFF_MAX_SECONDS) * 1000;
    } catch (e) {
      const message = (e as Error).message;
      if (this.backoffProblem !== message) this.opts.log(`${message}: ${HQ_BACKOFF_MAX_SECONDS} s used`);
      this.backoffProblem = message;
      return HQ_BACKOFF_MAX_SECONDS * 1000;
    }
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

  /**
   * Runs a check now (a webhook, `sync`, a test), whatever the backoff says; a check already running is followed by
   * exactly one more. Asked checks start at most once a second.
   */
  checkNow(): Promise<void> {
    if (this.running) {
      this.again = true;
      return this.running;
    }
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const gap = this.lastStart + MIN_ASKED_GAP_MS - Date.now();
    this.running = (gap > 0 ? new Promise<void>((r) => setTimeout(r, gap)) : Promise.resolve()).then(() => this.runCheck());
    return this.running;
  }

  private runCheck(): Promise<void> {
    this.lastStart = Date.now();
    this.contactRecord.checking(this.lastStart);
    try {
      setKv(this.opts.db, 'hq.contact', JSON.stringify(this.contactRecord.state));
    } catch {
      // A full disk: status shows the last contact it could write.
    }
    let delay = this.opts.pulseSeconds * 1000;
    // A check that throws (the state db on a full disk) is logged and tried again next pulse, never the ship's end.
    return this.check()
      .then((d) => {
        delay = d;
      })
      .catch((e: unknown) => this.opts.log(`hq check failed: ${(e as Error).message}`))
      .finally(() => {
        this.running = null;
        if (this.stopped) return;
        if (this.again) {
          this.again = false;
          void this.checkNow();
        } else this.timer = setTimeout(() => void this.checkNow(), delay);
      });
  }

  /** Records the contact (state db: status reads it there) and returns the wait before the next check. */
  private contactResult(ok: boolean, error = ''): number {
    const delay = ok ? this.contactRecord.answered() : this.contactRecord.failed(error, Date.now(), this.maxBackoffMs());
    setKv(this.opts.db, 'hq.contact', JSON.stringify(this.contactRecord.state));
    return delay;
  }

  /** One check; returns the wait before the next (the pulse, jittered, or the backoff while HQ fails). */
  private async check(): Promise<number> {
    const { db, log } = this.opts;
    const r = await this.clone.sync();
    setKv(db, 'hq.checked_at', new Date().toISOString());
    if (!r.ok) {
      const wait = this.contactResult(false, r.error);
      // Logged each time it changes, not every pulse: a remote that is down for an hour is one line, not 720.
      if (r.error !== this.lastFailure) {
        log(`hq sync failed (keeping ${short(this.desired?.sha)}): ${r.error}; next try in ${(wait / 1000).toFixed(1)} s, then less often while it fails`);
        recordHqSync(db, { url: this.url, sha: this.desired?.sha ?? null, result: 'failed', message: r.error });
      }
      this.lastFailure = r.error;
      return wait;
    }
    const failedFor = this.contact.failingSince;
    const wait = this.contactResult(true);
    this.lastGoodSyncAt = Date.now();
    if (this.lastFailure) log(`hq sync works again${failedFor ? ` (it failed since ${failedFor})` : ''}`);
    this.lastFailure = '';
    if (r.recloned) log(`hq clone was unusable: cloned again`);
    if (!r.changed && this.desired !== null) return wait;
    // A commit that changes only ships/ (the phleet's write-back) is not an HQ change.
    const runs = (await this.clone.runsSha().catch(() => null)) ?? r.sha;
    if (this.desired !== null && runs === this.desired.sha) return wait;
    const previous = this.desired;
    const read = await readHeadquarters(this.clone.dir, { sha: runs, evalTimeoutMs: this.opts.evalTimeoutMs });
    const next = keepLastGoodOrders(read, previous);
    const c = serviceChanges(previous, next);
    const redeploys = redeployReasons(previous, next);
    const parts = [
      c.added.length ? `added ${c.added.join(', ')}` : '',
      redeploys.length ? `changed ${redeploys.map((r) => `${r.name} (${r.why})`).join(', ')}` : '',
      c.removed.length ? `removed ${c.removed.join(', ')}` : '',
      c.placed.length ? `placed ${c.placed.map((n) => `${n} on ${next.services.find((s) => s.name === n)?.orders.on?.join(' ') ?? 'every ship'}`).join(', ')}` : '',
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
    return wait;
  }
}
