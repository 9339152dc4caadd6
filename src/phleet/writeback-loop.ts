import type { Logger } from '../log.js';
import { formatRecord, type ShipRecord } from './record.js';
import { onlyTransient, TRANSIENT_PULSES } from './write-pace.js';
import { LostRaces, type WriteBack } from './writeback.js';

/**
 * Why HQ will not take the ship's push, when that is how HQ is set up rather than a failure: a non-bare HQ whose branch
 * is checked out (git's default refuses), one whose checkout has uncommitted changes (updateInstead refuses), no write
 * permission. Null for anything else.
 */
export function refusal(message: string): string | null {
  if (/branch is currently checked out|refusing to update checked out branch/i.test(message))
    return 'HQ is a checkout whose branch is checked out, and git refuses pushes to it: make HQ a bare repo, or set receive.denyCurrentBranch=updateInstead there (npm run example does)';
  if (/Working directory has (unstaged|staged) changes|working directory not clean|Could not update working tree/i.test(message))
    return "HQ's checkout has uncommitted changes: ships/ is written back once they are committed";
  if (/Permission denied|permission to .* denied|read-only|\b403\b|not allowed to push|insufficient permission/i.test(message))
    return 'HQ is not writable from here (no permission to push): ships/ stays as it is';
  if (/is not a branch: ships\/ cannot be written back/.test(message)) return message.replace(/^.*?(HQ ref)/, '$1');
  return null;
}

/** The longest wait between writes HQ refuses as a setting (it is tried again: the admiral may make HQ writable). */
const REFUSED_MAX_MS = 60_000;

/**
 * Keeps the ship's entry in HQ current: at most one write per pulse, and only when the record changed (so a
 * write-back, which HQ reads as "nothing changed", never causes another). A failure is logged when it changes.
 */
export class WriteBackLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private last = '';
  private lastRecord: ShipRecord | null = null;
  /** Since when a transient-only change waits to be written (ms); null when none waits. */
  private pendingSince: number | null = null;
  private lastError = '';
  private stopped = false;
  /**
   * After HQ refused the push as a setting (refusal()): no write before this time. An HQ checkout nobody made writable
   * cost a fetch, a reset, a commit and a refused push every pulse (a tenth of a core on an idle ship at a half-second
   * pulse). An HQ on this machine is tried again when its git config changes, or after REFUSED_MAX_MS; a remote one,
   * which the ship cannot look at, when the record changes, or at a wait doubling from one pulse to REFUSED_MAX_MS.
   */
  private refusedUntil = 0;
  private refusals = 0;
  private refusedText = '';
  private refusedStamp: string | null = null;

  constructor(
    private readonly writer: WriteBack,
    /** Null: nothing to report yet (HQ not read since the start). */
    private readonly record: () => ShipRecord | null,
    private readonly pulseMs: number,
    private readonly log: Logger,
    /** True when ships/ is read from the write-back clone: it is refreshed every round, written or not. */
    private readonly separate: () => boolean = () => false,
    /** After every write that reached the remote (pushed or found unchanged) or lost all its races: its retries. */
    private readonly tally: (t: { retries: number; pushed: boolean; gaveUp: boolean }) => void = () => {},
  ) {}

  start(): void {
    this.stopped = false;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.running = this.once().finally(() => {
        this.running = null;
        // Jittered like the HQ checks: ships that deployed together do not all write in the same instant.
        this.schedule(this.pulseMs * (0.8 + 0.4 * Math.random()));
      });
    }, ms);
  }

  private async once(): Promise<void> {
    const record = this.record();
    if (!record) return;
    const text = formatRecord(record);
    if (text === this.last) {
      this.pendingSince = null;
      if (this.separate()) await this.writer.refresh().catch((e: unknown) => this.failed(record.name, e));
      return;
    }
    if (this.stillRefused(text)) return;
    if (onlyTransient(this.lastRecord, record)) {
      const now = Date.now();
      this.pendingSince ??= now;
      if (now - this.pendingSince < TRANSIENT_PULSES * this.pulseMs) {
        if (this.separate()) await this.writer.refresh().catch((e: unknown) => this.failed(record.name, e));
        return;
      }
    }
    try {
      const r = await this.writer.write(record);
      this.last = text;
      this.lastRecord = record;
      this.pendingSince = null;
      this.tally({ retries: r.retries, pushed: r.result === 'pushed', gaveUp: false });
      if (this.lastError) this.log(`ships/${record.name}: write-back works again`);
      this.lastError = '';
      this.refusals = 0;
      this.refusedText = '';
      this.refusedStamp = null;
      this.refusedUntil = 0;
      if (r.result === 'pushed') this.log(`ships/${record.name}: written back${r.retries > 0 ? ` after ${r.retries} lost race(s)` : ''} (hq ${record.hq?.slice(0, 7) ?? 'none'}, ${Object.entries(record.services).map(([n, s]) => `${n} ${s.state}`).join(', ') || 'no services'})`);
    } catch (e) {
      if (this.stopped) return;
      if (e instanceof LostRaces) this.tally({ retries: e.attempts, pushed: false, gaveUp: true });
      if (this.failed(record.name, e)) {
        this.refusedText = text;
        this.refusedStamp = this.writer.settingStamp();
        this.refusedUntil = Date.now() + (this.refusedStamp !== null ? REFUSED_MAX_MS : Math.min(REFUSED_MAX_MS, this.pulseMs * 2 ** Math.min(this.refusals++, 16)));
      }
    }
  }

  /** Whether HQ, having refused the push as a setting, is left alone this round (see refusedUntil). */
  private stillRefused(text: string): boolean {
    if (Date.now() >= this.refusedUntil) return false;
    return this.refusedStamp !== null ? this.writer.settingStamp() === this.refusedStamp : text === this.refusedText;
  }

  /** Says what went wrong (once per distinct reason); true when it was HQ refusing the push as a setting. */
  private failed(name: string, e: unknown): boolean {
    const message = (e as Error).message;
    // HQ refusing writes is a setting, not a failure: said once, calmly, and tried again quietly.
    const refused = refusal(message);
    const said = refused ?? message;
    if (said !== this.lastError) this.log(refused ? `ships/${name}: not written back: ${refused}` : `ships/${name}: write-back failed: ${message}`);
    this.lastError = said;
    return refused !== null;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.writer.halt();
    await this.running;
  }
}
