import { git, type GitAccess } from '../../headquarters/git.js';
import { nextCheckDelayMs } from '../../headquarters/contact.js';
import { LsRemoteGate } from '../../headquarters/ls-remote-gate.js';
import { normalizeRemote } from '../../headquarters/sync.js';

/**
 * The ship's one view of its service repos' refs: one batched `git ls-remote` per repository URL, however many
 * services (and previews) follow it, each URL at its own pace. Asked while not due, it answers from what the last
 * poll saw and forks nothing, so an idle ship's cost follows the number of repos and the pace, never the services.
 *
 * Pace per URL: STARPHLEET_SERVICE_POLL (default: the pulse); once a signed webhook named the repo, the slower
 * STARPHLEET_SERVICE_POLL_WEBHOOK (a push is told anyway); never more than STARPHLEET_SERVICE_POLL_RATE polls a second
 * over all repos (with more repos, each is polled less often). Every interval is jittered so repos (and ships) spread.
 * A failed poll is retried with a backoff, and its error is what callers get until then.
 */

/** What one poll saw: every branch and tag (`refs/heads/*`, `refs/tags/*` with peeled `^{}`) and HEAD, by name. */
export interface RefsSnapshot {
  readonly refs: ReadonlyMap<string, string>;
  /** When the poll answered (ms). */
  readonly at: number;
}

export interface PollSettings {
  readonly pollMs: number;
  readonly webhookPollMs: number;
  /** Polls per second over all repos. */
  readonly rate: number;
}

export interface RemoteRefsOptions {
  readonly access: GitAccess;
  readonly settings: PollSettings;
  /** The poll itself (tests give their own); default `git ls-remote -- URL HEAD refs/heads/* refs/tags/*`. */
  readonly lsRemote?: (url: string) => Promise<string>;
  /** Skips the poll's fork while a repository on this machine did not move (headquarters/ls-remote-gate.ts). */
  readonly gate?: LsRemoteGate;
  readonly now?: () => number;
  readonly random?: () => number;
}

interface Entry {
  snapshot: RefsSnapshot | null;
  error: Error | null;
  failures: number;
  /** When the next poll is due (ms); 0: at the next ask. */
  due: number;
  hooked: boolean;
  lastAsked: number;
  inflight: Promise<RefsSnapshot> | null;
}

/** Entries nobody asked for in this long are forgotten (a service removed, a preview gone). */
const FORGET_MS = 10 * 60_000;

/** Parses ls-remote output into name -> sha. */
export function parseLsRemote(out: string): Map<string, string> {
  const refs = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [sha, name] = line.trim().split('\t');
    if (sha && name && /^[0-9a-f]{40}$/.test(sha)) refs.set(name, sha);
  }
  return refs;
}

/**
 * The commit a service's ref names in a snapshot, as source.ts resolveRef finds it on the remote: HEAD when no ref,
 * a branch, then a tag (an annotated tag peeled), then a full `refs/...` name. Null: not a branch or tag name here.
 */
export function lookupRef(refs: ReadonlyMap<string, string>, ref: string | undefined): string | null {
  if (ref === undefined) return refs.get('HEAD') ?? null;
  return refs.get(`refs/heads/${ref}`) ?? refs.get(`refs/tags/${ref}^{}`) ?? refs.get(`refs/tags/${ref}`) ?? (ref.startsWith('refs/') ? (refs.get(`${ref}^{}`) ?? refs.get(ref) ?? null) : null);
}

export class RemoteRefs {
  private readonly entries = new Map<string, Entry>();
  private settings: PollSettings;
  private readonly now: () => number;
  private readonly random: () => number;
  private readonly gate: LsRemoteGate;
  /** Polls started (a counter for tests, metrics and the simulation). */
  polls = 0;

  constructor(private readonly o: RemoteRefsOptions) {
    this.settings = o.settings;
    this.now = o.now ?? Date.now;
    this.random = o.random ?? Math.random;
    this.gate = o.gate ?? new LsRemoteGate();
  }

  /** New pace settings (HQ .starphleet changed): they apply from each URL's next poll on. */
  configure(settings: PollSettings): void {
    this.settings = settings;
  }

  /** Whether asking for this URL now would poll it. */
  due(url: string): boolean {
    const e = this.entries.get(normalizeRemote(url));
    return !e || (e.inflight === null && this.now() >= e.due);
  }

  /** The URL's refs: from the last poll while it is not due, else from one new poll shared by every caller. */
  refs(url: string): Promise<RefsSnapshot> {
    const key = normalizeRemote(url);
    const now = this.now();
    const e = this.entries.get(key) ?? { snapshot: null, error: null, failures: 0, due: 0, hooked: false, lastAsked: now, inflight: null };
    this.entries.set(key, e);
    e.lastAsked = now;
    if (e.inflight) return e.inflight;
    if (now < e.due) {
      if (e.error) return Promise.reject(e.error);
      if (e.snapshot) return Promise.resolve(e.snapshot);
    }
    this.forgetIdle(now);
    return this.poll(key, e);
  }

  /** A signed webhook push named this repo: poll at the next ask, and from now on at the webhook pace. */
  pushed(url: string): void {
    const e = this.entries.get(normalizeRemote(url));
    if (!e) return;
    e.hooked = true;
    e.due = 0;
  }

  /** Poll at the next ask (an admiral's redeploy wants the ref as it is now). */
  expire(url: string): void {
    const e = this.entries.get(normalizeRemote(url));
    if (e) e.due = 0;
  }

  private poll(key: string, e: Entry): Promise<RefsSnapshot> {
    this.polls++;
    const lsRemote = this.o.lsRemote ?? ((u) => git(['ls-remote', '--', u, 'HEAD', 'refs/heads/*', 'refs/tags/*'], { access: this.o.access, timeoutMs: 30_000 }));
    // A poll still counts (pace, snapshot time); on a local repo that did not move it is answered without git.
    const run = this.gate.run(key, 'heads+tags', () => lsRemote(key));
    e.inflight = run.then(
      (out) => {
        const done = this.now();
        e.snapshot = { refs: parseLsRemote(out), at: done };
        e.error = null;
        e.failures = 0;
        e.due = done + this.interval(e);
        e.inflight = null;
        return e.snapshot;
      },
      (err: unknown) => {
        const done = this.now();
        e.error = err instanceof Error ? err : new Error(String(err));
        e.failures++;
        e.due = done + nextCheckDelayMs({ pulseMs: this.interval(e), maxBackoffMs: Math.max(120_000, this.interval(e)), random: this.random }, e.failures);
        e.inflight = null;
        throw e.error;
      },
    );
    return e.inflight;
  }

  /** The wait after a good poll: the URL's pace, stretched so all URLs together stay within the rate; jittered ±20%. */
  private interval(e: Entry): number {
    const s = this.settings;
    const base = e.hooked ? s.webhookPollMs : s.pollMs;
    const spread = (this.entries.size / Math.max(s.rate, 0.001)) * 1000;
    return Math.max(base, spread) * (0.8 + 0.4 * this.random());
  }

  private forgetIdle(now: number): void {
    for (const [k, v] of this.entries) if (v.inflight === null && now - v.lastAsked > FORGET_MS) this.entries.delete(k);
  }
}
