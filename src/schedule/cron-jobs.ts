import { firesAt, isReboot } from '../util/cron-schedule.js';
import type { Job } from '../headquarters/types.js';
import type { Logger } from '../log.js';

const JOB_TIMEOUT_MS = 60_000;

/** True when the schedule (five fields or a shortcut) fires in the minute that starts at `minute` (seconds and ms zero). */
export function isDue(schedule: string, minute: Date): boolean {
  return firesAt(schedule, minute); // a bad line was reported by HQ reading and never fires
}

/** A `/path` job goes to this ship's own front door; an absolute URL goes where it says. */
export function jobUrl(url: string, frontDoor: string): string {
  return url.startsWith('/') ? `${frontDoor}${url}` : url;
}

/** GETs every job due in `minute` (with `reboot`, the @reboot ones instead); each outcome is one log line. */
export async function runDueJobs(jobs: readonly Job[], minute: Date, frontDoor: string, log: Logger, reboot = false): Promise<void> {
  await Promise.all(
    jobs
      .filter((j) => (reboot ? isReboot(j.schedule) : isDue(j.schedule, minute)))
      .map(async (j) => {
        const url = jobUrl(j.url, frontDoor);
        try {
          const r = await fetch(url, { signal: AbortSignal.timeout(JOB_TIMEOUT_MS), redirect: 'manual' });
          await r.body?.cancel();
          log(`job jobs:${j.line} GET ${j.url} -> ${r.status}`);
        } catch (e) {
          log(`job jobs:${j.line} GET ${j.url} failed: ${(e as Error).message}`);
        }
      }),
  );
}

/**
 * Checks the jobs of the current desired state at the start of every minute (`current` is null until HQ was read).
 * @reboot jobs run once per ship start, as cron runs them once per daemon start: at the first minute after HQ was read.
 * Returns a stop function.
 */
export function startJobs(current: () => readonly Job[] | null, frontDoor: string, log: Logger): () => void {
  let timer: NodeJS.Timeout | null = null;
  let rebooted = false;
  const schedule = (): void => {
    const now = Date.now();
    const nextMinute = Math.floor(now / 60_000) * 60_000 + 60_000;
    timer = setTimeout(() => {
      const jobs = current();
      if (jobs !== null) {
        if (!rebooted) void runDueJobs(jobs, new Date(nextMinute), frontDoor, log, true);
        rebooted = true;
        void runDueJobs(jobs, new Date(nextMinute), frontDoor, log);
      }
      schedule();
    }, nextMinute - now);
  };
  schedule();
  return () => {
    if (timer) clearTimeout(timer);
  };
}
