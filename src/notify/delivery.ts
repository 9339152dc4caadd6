import type { Logger } from '../log.js';
import { bodyFor, type Notification } from './messages.js';
import type { NotifyTarget } from './targets.js';

export interface DeliveryLimits {
  /** Notifications waiting per target; past it the oldest waiting one is dropped (and counted in the log). */
  readonly queue: number;
  /** Tries per notification (the first and its retries). */
  readonly attempts: number;
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  readonly timeoutMs: number;
}

export const DEFAULT_LIMITS: DeliveryLimits = { queue: 200, attempts: 6, retryBaseMs: 1000, retryMaxMs: 60_000, timeoutMs: 10_000 };

type Outcome = { readonly ok: true } | { readonly ok: false; readonly retry: boolean; readonly why: string; readonly waitMs?: number };

async function post(target: NotifyTarget, body: string, timeoutMs: number): Promise<Outcome> {
  try {
    const r = await fetch(target.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'starphleet' },
      body,
      // A redirected POST would become a GET elsewhere: a moved webhook is a configuration problem to fix, not follow.
      redirect: 'manual',
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.arrayBuffer().catch(() => undefined);
    if (r.status >= 200 && r.status < 300) return { ok: true };
    const retryAfter = Number(r.headers.get('retry-after'));
    const retry = r.status === 429 || r.status === 408 || r.status >= 500;
    return { ok: false, retry, why: `HTTP ${r.status}`, ...(Number.isFinite(retryAfter) && retryAfter > 0 ? { waitMs: retryAfter * 1000 } : {}) };
  } catch (e) {
    const err = e as Error & { cause?: { code?: string; message?: string } };
    return { ok: false, retry: true, why: err.cause?.code ?? err.cause?.message ?? err.message };
  }
}

/**
 * One target's queue: notifications go out one at a time in the order they came (a retry holds up the ones behind it,
 * so a receiver sees started before succeeded), each retried with exponential backoff on a network error, a timeout,
 * 408, 429 or 5xx. Nothing here is awaited by the ship: push() returns at once.
 */
export class TargetQueue {
  private readonly waiting: Notification[] = [];
  private running = false;
  private dropped = 0;
  private stopped = false;
  private timer: NodeJS.Timeout | null = null;
  private wake: (() => void) | null = null;

  constructor(
    readonly target: NotifyTarget,
    private readonly limits: DeliveryLimits,
    private readonly log: Logger,
  ) {}

  get length(): number {
    return this.waiting.length;
  }

  push(n: Notification): void {
    if (this.stopped) return;
    this.waiting.push(n);
    while (this.waiting.length > this.limits.queue) {
      this.waiting.shift();
      this.dropped++;
    }
    if (!this.running) void this.run();
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      this.wake = resolve;
      this.timer = setTimeout(resolve, ms);
      this.timer.unref();
    });
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (!this.stopped && this.waiting.length > 0) {
        if (this.dropped > 0) {
          this.log(`notify ${this.target.label}: queue full (${this.limits.queue}): ${this.dropped} older notification(s) dropped`);
          this.dropped = 0;
        }
        const n = this.waiting[0] as Notification;
        const body = bodyFor(this.target.style, n);
        for (let attempt = 1; !this.stopped; attempt++) {
          const r = await post(this.target, body, this.limits.timeoutMs);
          if (r.ok) break;
          if (!r.retry || attempt >= this.limits.attempts) {
            this.log(`notify ${this.target.label}: ${n.event} not delivered after ${attempt} attempt(s): ${r.why}`);
            break;
          }
          const wait = Math.min(this.limits.retryMaxMs, r.waitMs ?? this.limits.retryBaseMs * 2 ** (attempt - 1));
          await this.sleep(wait);
        }
        // The queue may have dropped its head meanwhile (full): only take off what was sent.
        if (this.waiting[0] === n) this.waiting.shift();
      }
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.wake?.();
  }
}
