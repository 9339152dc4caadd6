/** What the data plane tells the ship when an address starts to wait (the ship writes it into the audit). */
export interface BackoffEvent {
  readonly address: string;
  readonly service: string;
  readonly failures: number;
  readonly seconds: number;
}

/** Failures from one address before it waits; the wait doubles with each further failure, up to MAX_S. */
const FREE_FAILURES = 5;
const FIRST_S = 1;
const MAX_S = 60;
/** An address with no failure for this long starts afresh. */
const FORGET_MS = 10 * 60_000;
const MAX_ADDRESSES = 10_000;

interface Entry {
  failures: number;
  until: number;
  last: number;
}

/**
 * Per-address back-off after wrong passwords: while an address waits, its requests to protected services get a 429
 * without any hash being checked, so a password flood from it costs almost nothing.
 */
export class AuthBackoff {
  private readonly byAddress = new Map<string, Entry>();

  constructor(
    private readonly onBackoff: (e: BackoffEvent) => void,
    private readonly now: () => number = Date.now,
  ) {}

  /** Seconds the address must still wait, or 0. */
  waiting(address: string): number {
    const e = this.byAddress.get(address);
    if (!e) return 0;
    const left = e.until - this.now();
    return left > 0 ? Math.ceil(left / 1000) : 0;
  }

  failed(address: string, service: string): void {
    const now = this.now();
    let e = this.byAddress.get(address);
    if (!e || now - e.last > FORGET_MS) {
      if (this.byAddress.size >= MAX_ADDRESSES) this.byAddress.delete(this.byAddress.keys().next().value as string);
      e = { failures: 0, until: 0, last: now };
      this.byAddress.set(address, e);
    }
    e.failures++;
    e.last = now;
    if (e.failures < FREE_FAILURES) return;
    const seconds = Math.min(MAX_S, FIRST_S * 2 ** (e.failures - FREE_FAILURES));
    e.until = now + seconds * 1000;
    this.onBackoff({ address, service, failures: e.failures, seconds });
  }

  succeeded(address: string): void {
    this.byAddress.delete(address);
  }
}
