/**
 * The agent's pulse: `run` every `seconds` after the last one ended, or at once when asked. An ask while a run is on
 * is answered by exactly one more run after it, never two side by side. A failed run is logged and the loop goes on.
 */
export class PulseLoop {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  private stopped = false;

  constructor(
    private readonly run: () => Promise<void>,
    private readonly seconds: number,
    private readonly log: (line: string) => void,
  ) {}

  /** Runs now; one already running is followed by exactly one more. Settles when the run it joined ends. */
  now(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.running) {
      this.again = true;
      return this.running;
    }
    this.clearTimer();
    this.running = this.run()
      .catch((e: unknown) => this.log(`agent pulse failed: ${(e as Error).stack ?? String(e)}`))
      .finally(() => {
        this.running = null;
        if (this.again) {
          this.again = false;
          void this.now();
        } else this.schedule();
      });
    return this.running;
  }

  /** Pulses again every `seconds` (at the start, and after a stop that was undone). */
  start(): void {
    this.stopped = false;
    this.schedule();
  }

  /** No run starts any more; resolves with the one still running (the caller may first cancel what it waits on). */
  stop(): Promise<void> {
    this.stopped = true;
    this.clearTimer();
    return this.running ?? Promise.resolve();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.clearTimer();
    this.timer = setTimeout(() => void this.now(), this.seconds * 1000);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }
}
