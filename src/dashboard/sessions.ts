import { createHash, randomBytes } from 'node:crypto';

/** Who a login link or session belongs to: the admiral's key file and fingerprint (none for the local CLI). */
export interface DashboardUser {
  readonly by: string;
  readonly fingerprint: string | null;
  /** The admirals' fingerprints when the link was issued: the session ends when any of them leaves HQ. */
  readonly admirals: readonly string[];
}

interface Entry extends DashboardUser {
  readonly expires: number;
}

/** Tokens are kept by their sha256 only: what sits in memory cannot be replayed, and a Map lookup compares hashes. */
const digest = (token: string): string => createHash('sha256').update(token).digest('hex');

const newToken = (): string => randomBytes(32).toString('base64url');

/** Bounded map, the oldest entry dropped first, expired ones swept on every write. */
class Bounded {
  private readonly m = new Map<string, Entry>();

  constructor(private readonly max: number) {}

  put(key: string, e: Entry, now: number): void {
    for (const [k, v] of this.m) if (v.expires <= now) this.m.delete(k);
    this.m.set(key, e);
    while (this.m.size > this.max) {
      const oldest = this.m.keys().next().value;
      if (oldest === undefined) break;
      this.m.delete(oldest);
    }
  }

  get(key: string, now: number): Entry | null {
    const e = this.m.get(key);
    if (!e) return null;
    if (e.expires <= now) {
      this.m.delete(key);
      return null;
    }
    return e;
  }

  take(key: string, now: number): Entry | null {
    const e = this.get(key, now);
    this.m.delete(key);
    return e;
  }

  clear(): void {
    this.m.clear();
  }
}

export interface SessionTimes {
  /** How long a login link works (once). */
  readonly loginSeconds: number;
  /** How long the session cookie it is exchanged for lasts. */
  readonly sessionSeconds: number;
}

/**
 * The dashboard's only way in: `starphleet dashboard` (an admiral, over SSH) asks for a one-time login token; the
 * browser exchanges it, once and within loginSeconds, for a session whose id goes into an HttpOnly cookie. Both
 * live in this process only: a ship restart logs everyone out.
 */
export class DashboardSessions {
  private readonly logins = new Bounded(100);
  private readonly sessions = new Bounded(200);

  constructor(
    private readonly times: () => SessionTimes,
    private readonly now: () => number = Date.now,
  ) {}

  /** A new one-time login token for this admiral. */
  issueLogin(user: DashboardUser): { token: string; seconds: number } {
    const token = newToken();
    const seconds = this.times().loginSeconds;
    this.logins.put(digest(token), { ...user, expires: this.now() + seconds * 1000 }, this.now());
    return { token, seconds };
  }

  /** Exchanges a login token (used up by the attempt, valid or not) for a session id; null when unknown, used or expired. */
  exchange(token: string): { session: string; user: DashboardUser; seconds: number } | null {
    const e = this.logins.take(digest(token), this.now());
    if (!e) return null;
    const session = newToken();
    const seconds = this.times().sessionSeconds;
    this.sessions.put(digest(session), { by: e.by, fingerprint: e.fingerprint, admirals: e.admirals, expires: this.now() + seconds * 1000 }, this.now());
    return { session, user: { by: e.by, fingerprint: e.fingerprint, admirals: e.admirals }, seconds };
  }

  /** The user of a session id, or null. */
  user(session: string): DashboardUser | null {
    return this.sessions.get(digest(session), this.now());
  }

  /** Ends a session (its admiral left HQ). */
  end(session: string): void {
    this.sessions.take(digest(session), this.now());
  }
}
