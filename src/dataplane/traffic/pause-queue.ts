import type { WirePause } from '../protocol/wire-traffic.js';

/** One held request: how to send it on (resolves once it is answered), how to refuse it, and whether it is gone. */
export interface Held {
  /** Sends the request on against the table in force then; resolves when its answer is done. */
  release(): Promise<void>;
  /** Answers it 503 (held too long, or the queue was full). */
  refuse(why: string): void;
  /** Calls back when the client goes away while held (it leaves the queue). */
  onGone(cb: () => void): void;
}

/**
 * Released requests go one after another, each once the one before it is answered, so they are answered in the order
 * they came (measured: with 8 at once, answers through nginx came out of order); a released request that takes longer
 * than RELEASE_SLOT_MS (a long poll, an event stream, a slow page) stops holding back the next ones.
 */
const RELEASE_WINDOW = 1;
const RELEASE_SLOT_MS = 250;

interface Entry {
  readonly held: Held;
  readonly timer: NodeJS.Timeout;
  done: boolean;
}

/**
 * The requests one paused service holds, in arrival order. Each waits at most the pause's maxPauseMs (then 503: the
 * admiral's --max-pause); beyond `queue` entries a new one is refused at once, so a flood during a pause costs a
 * bounded amount of memory. release() sends them on oldest first, a few at a time.
 */
export class PauseQueue {
  private entries: Entry[] = [];

  constructor(readonly service: string) {}

  get size(): number {
    return this.entries.length;
  }

  hold(held: Held, pause: WirePause): boolean {
    if (this.entries.length >= pause.queue) {
      held.refuse(`503 service ${this.service} is paused and its queue of ${pause.queue} held requests is full: try again\n`);
      return false;
    }
    const entry: Entry = {
      held,
      done: false,
      timer: setTimeout(() => {
        if (this.take(entry)) held.refuse(`503 service ${this.service} is paused: held ${Math.round(pause.maxPauseMs / 100) / 10} s (its --max-pause) and not resumed\n`);
      }, pause.maxPauseMs),
    };
    this.entries.push(entry);
    held.onGone(() => void this.take(entry));
    return true;
  }

  /** Takes one entry out; false when it was out already. */
  private take(e: Entry): boolean {
    if (e.done) return false;
    e.done = true;
    clearTimeout(e.timer);
    const i = this.entries.indexOf(e);
    if (i >= 0) this.entries.splice(i, 1);
    return true;
  }

  /** Sends every held request on, oldest first, each after the one before it was answered (or RELEASE_SLOT_MS). */
  async release(): Promise<void> {
    const all = this.entries;
    this.entries = [];
    const live = all.filter((e) => {
      if (e.done) return false;
      e.done = true;
      clearTimeout(e.timer);
      return true;
    });
    let next = 0;
    const lane = async (): Promise<void> => {
      while (next < live.length) {
        const e = live[next++] as Entry;
        let t: NodeJS.Timeout | undefined;
        await Promise.race([e.held.release().catch(() => undefined), new Promise<void>((r) => (t = setTimeout(r, RELEASE_SLOT_MS)))]);
        clearTimeout(t);
      }
    };
    // Lanes start one after another in the same turn: entry k goes out before entry k+1 in every lane.
    await Promise.all(Array.from({ length: Math.min(RELEASE_WINDOW, live.length) }, lane));
  }

  /** Answers everything held 503 (the service left the table, the plane stops). */
  refuseAll(why: string): void {
    for (const e of [...this.entries]) if (this.take(e)) e.held.refuse(why);
  }
}

/** The queues of a plane (or of the nginx plane's holding socket), by service, kept across route tables. */
export class PauseQueues {
  private readonly queues = new Map<string, PauseQueue>();

  hold(service: string, held: Held, pause: WirePause): boolean {
    let q = this.queues.get(service);
    if (!q) this.queues.set(service, (q = new PauseQueue(service)));
    return q.hold(held, pause);
  }

  /** After a new table: services no longer paused get their requests sent on; services gone get theirs refused. */
  settle(pausedNow: (service: string) => 'paused' | 'serving' | 'gone'): void {
    for (const [service, q] of [...this.queues]) {
      const s = pausedNow(service);
      if (s === 'paused') continue;
      this.queues.delete(service);
      if (s === 'gone') q.refuseAll(`503 service ${service} is no longer served here\n`);
      else void q.release();
    }
  }

  held(service: string): number {
    return this.queues.get(service)?.size ?? 0;
  }

  refuseAll(why: string): void {
    for (const q of this.queues.values()) q.refuseAll(why);
    this.queues.clear();
  }
}
