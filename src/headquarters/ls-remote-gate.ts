import { localRefsStamp, type RefsStamp } from './local-refs-stamp.js';

/**
 * One `git ls-remote` answer kept per query of a repository on this machine, handed out again while the repository's
 * refs fingerprint (local-refs-stamp.ts) is unchanged: an idle ship following local repos (most tests, the example
 * HQ) then forks no git each pulse. Each fork of the ship costs ~3 ms of its CPU plus git's own ~1.5 ms.
 *
 * git is asked as before when the fingerprint changed, cannot be taken, or was taken within `racyMs` of the newest
 * file time it saw (a ref rewritten within the filesystem's timestamp granularity, the inode reused, could look
 * unchanged: like git's racy index, a fresh stamp is not trusted), and at least every `maxAgeMs` whatever the
 * fingerprint says (a net for what lstat cannot see). Remote URLs (ssh, https, git://) always ask git.
 */

export interface LsRemoteGateOptions {
  /** Wall clock (ms): compared with file times for the racy check. */
  readonly now?: () => number;
  readonly maxAgeMs?: number;
  readonly racyMs?: number;
  /** A fingerprint slower than this (a hung network filesystem) is given up for this ask: git is asked instead. */
  readonly stampTimeoutMs?: number;
  /** The fingerprint (tests count or replace it); default localRefsStamp. */
  readonly stamp?: (url: string) => Promise<RefsStamp | null>;
}

interface Kept {
  readonly key: string;
  readonly out: string;
  readonly at: number;
}

export class LsRemoteGate {
  /** Asks that ran git, and asks answered from a kept answer (counters for tests and the notes' figures). */
  runs = 0;
  skips = 0;
  private readonly kept = new Map<string, Kept>();
  private readonly now: () => number;
  private readonly maxAgeMs: number;
  private readonly racyMs: number;
  private readonly stampTimeoutMs: number;
  private readonly stamp: (url: string) => Promise<RefsStamp | null>;
  /** URLs whose fingerprint is still running (stuck in a hung lstat): none is started beside it. */
  private readonly stamping = new Set<string>();

  constructor(o: LsRemoteGateOptions = {}) {
    this.now = o.now ?? Date.now;
    this.maxAgeMs = o.maxAgeMs ?? 30_000;
    this.racyMs = o.racyMs ?? 2_000;
    this.stampTimeoutMs = o.stampTimeoutMs ?? 5_000;
    this.stamp = o.stamp ?? localRefsStamp;
  }

  /**
   * `ask()`'s answer for `query` of `url` (the ls-remote git would give), from the kept one while the repository's
   * refs did not move. `ask` must be a pure function of the remote's refs: its output is replayed. A failed ask keeps
   * nothing.
   */
  async run(url: string, query: string, ask: () => Promise<string>): Promise<string> {
    const id = `${url}\0${query}`;
    const stamp = await this.stampWithin(url);
    const now = this.now();
    this.forgetOld(now);
    const kept = this.kept.get(id);
    if (stamp !== null && kept !== undefined && kept.key === stamp.key && now >= kept.at && now - kept.at < this.maxAgeMs) {
      this.skips++;
      return kept.out;
    }
    this.kept.delete(id);
    this.runs++;
    // The stamp was taken before git ran: a ref moved in between makes the next stamp differ, so git is asked again.
    const out = await ask();
    if (stamp !== null && now - stamp.newestMs >= this.racyMs) this.kept.set(id, { key: stamp.key, out, at: now });
    return out;
  }

  private async stampWithin(url: string): Promise<RefsStamp | null> {
    if (this.stamping.has(url)) return null;
    this.stamping.add(url);
    let timer: NodeJS.Timeout | undefined;
    const work = this.stamp(url).finally(() => this.stamping.delete(url));
    const late = new Promise<null>((r) => (timer = setTimeout(() => r(null), this.stampTimeoutMs)));
    try {
      return await Promise.race([work.catch(() => null), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kept answers past the net's age would be asked again anyway: dropped, so repos no longer followed leave nothing. */
  private forgetOld(now: number): void {
    for (const [id, k] of this.kept) if (now < k.at || now - k.at >= this.maxAgeMs) this.kept.delete(id);
  }
}
