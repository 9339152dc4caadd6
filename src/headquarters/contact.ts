/**
 * How often a ship asks HQ's git host, and what it remembers of the answers. A phleet of N ships polling one host is
 * N clients in lockstep unless each spreads its own: every wait is jittered, and a host that refuses or does not
 * answer (429, 5xx, network errors, time-outs) is asked exponentially less often, up to a cap, so a struggling host
 * is not hammered back down by the whole phleet at once. A webhook or `phleet sync` asks at once regardless.
 */

export interface ContactPaceOptions {
  readonly pulseMs: number;
  /** The longest wait after failures (never below the pulse). */
  readonly maxBackoffMs: number;
  /** ± this fraction of the pulse between good checks (0.2: 4-6 s at a 5 s pulse). */
  readonly jitter?: number;
  readonly random?: () => number;
}

/** The wait before the next check after `failures` failed ones in a row (0: all is well). */
export function nextCheckDelayMs(o: ContactPaceOptions, failures: number): number {
  const random = o.random ?? Math.random;
  const jitter = o.jitter ?? 0.2;
  if (failures <= 0) return Math.round(o.pulseMs * (1 - jitter + 2 * jitter * random()));
  // Exponential from twice the pulse, capped; half of it random ("equal jitter"): ships that lost HQ together do
  // not all come back in the same second, and none waits less than half the backoff.
  const cap = Math.max(o.pulseMs, o.maxBackoffMs);
  const base = Math.min(cap, o.pulseMs * 2 ** Math.min(failures, 30));
  return Math.round(base / 2 + (base / 2) * random());
}

/** What kind of failure git's words describe: shown in status, so an admiral knows whether to look at HQ's host or the network. */
export function failureKind(message: string): 'refused' | 'server error' | 'timed out' | 'unreachable' | 'failed' {
  if (/returned error: 429|\b429\b.*Too Many|rate limit/i.test(message)) return 'refused';
  if (/returned error: 5\d\d|\bHTTP 5\d\d\b|\b50[0-4] (Internal|Bad Gateway|Service Unavailable|Gateway)/i.test(message)) return 'server error';
  if (/timed out|timeout/i.test(message)) return 'timed out';
  if (/Could not resolve host|Connection refused|unable to connect|Failed to connect|No route to host|Network is unreachable|Connection reset|Connection closed|remote end hung up|Could not read from remote repository|does not appear to be a git repository|unable to look up/i.test(message)) return 'unreachable';
  return 'failed';
}

/** What status shows of the ship's contact with HQ (stored in the state db as JSON under hq.contact). */
export interface HqContactState {
  /** When HQ last answered (ISO); null before the first answer. */
  readonly lastContact: string | null;
  /** Since when every check failed (ISO); null while HQ answers. */
  readonly failingSince: string | null;
  readonly failures: number;
  readonly error: string | null;
  readonly kind: ReturnType<typeof failureKind> | null;
  /** When the next scheduled check runs (ISO). */
  readonly nextCheck: string | null;
  /** When the check running now started (ISO); null between checks. A host that drops packets answers nothing for a
   *  while (up to STARPHLEET_HQ_TIMEOUT) before the check counts as failed. */
  readonly checkingSince?: string | null;
}

/** The contact record, updated by each check's outcome; pure apart from the clock and the random source it is given. */
export class HqContact {
  private s: HqContactState = { lastContact: null, failingSince: null, failures: 0, error: null, kind: null, nextCheck: null };

  constructor(private readonly pace: ContactPaceOptions) {}

  get state(): HqContactState {
    return this.s;
  }

  /** A check starts. */
  checking(now = Date.now()): void {
    this.s = { ...this.s, checkingSince: new Date(now).toISOString() };
  }

  /** HQ answered: the pulse's pace again. Returns the wait before the next check. */
  answered(now = Date.now()): number {
    const delay = nextCheckDelayMs(this.pace, 0);
    this.s = { lastContact: new Date(now).toISOString(), failingSince: null, failures: 0, error: null, kind: null, nextCheck: new Date(now + delay).toISOString(), checkingSince: null };
    return delay;
  }

  /** HQ did not answer: one more failure, a longer wait (up to maxBackoffMs when given, else the pace's cap). */
  failed(error: string, now = Date.now(), maxBackoffMs = this.pace.maxBackoffMs): number {
    const failures = this.s.failures + 1;
    const delay = nextCheckDelayMs({ ...this.pace, maxBackoffMs }, failures);
    this.s = { ...this.s, failingSince: this.s.failingSince ?? new Date(now).toISOString(), failures, error, kind: failureKind(error), nextCheck: new Date(now + delay).toISOString(), checkingSince: null };
    return delay;
  }

  /** Restores what the last ship process knew (its last contact), so status says it after a restart too. */
  restore(previous: HqContactState | null): void {
    if (previous?.lastContact) this.s = { ...this.s, lastContact: previous.lastContact };
  }
}

/** The contact state stored by a ship; null when absent or unreadable. */
export function parseContact(raw: string | undefined | null): HqContactState | null {
  if (!raw) return null;
  try {
    const v = JSON.parse(raw) as Partial<HqContactState>;
    return typeof v === 'object' && v !== null && 'lastContact' in v ? (v as HqContactState) : null;
  } catch {
    return null;
  }
}

/** `12 s ago`, `3 min ago`, `2 h ago`. */
export function ago(iso: string, now = Date.now()): string {
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  return s < 120 ? `${s} s ago` : s < 7200 ? `${Math.round(s / 60)} min ago` : `${Math.round(s / 3600)} h ago`;
}

/** One line for status: the last contact, or since when HQ cannot be reached and what the ship does meanwhile. */
export function describeContact(c: HqContactState | null, now = Date.now()): string {
  if (c === null) return 'not contacted yet';
  const last = c.lastContact ? `last contact ${c.lastContact} (${ago(c.lastContact, now)})` : 'never reached';
  const waiting = c.checkingSince ? Math.round((now - Date.parse(c.checkingSince)) / 1000) : 0;
  if (c.failingSince === null) return waiting >= 10 ? `no answer from HQ for ${waiting} s (a check is waiting); ${last}` : last;
  const next = c.nextCheck ? `; next try in ${Math.max(0, Math.round((Date.parse(c.nextCheck) - now) / 1000))} s` : '';
  const trying = waiting >= 10 ? `; trying again for ${waiting} s` : next;
  return `CANNOT REACH HQ since ${c.failingSince} (${c.failures} tries, ${c.kind ?? 'failed'}: ${c.error ?? ''}); serving what it has; ${last}${trying}`;
}
