import { CronExpressionParser } from 'cron-parser';
import type { Job } from '../headquarters/types.js';
import type { Logger } from '../log.js';

const JOB_TIMEOUT_MS = 60_000;

/** True when the cron schedule fires in the minute that starts at `minute` (seconds and ms zero). */
export function isDue(schedule: string, minute: Date): boolean {
  try {
    const next = CronExpressionParser.parse(schedule, { currentDate: new Date(minute.getTime() - 1) }).next();
    return next.getTime() === minute.getTime();
  } catch {
    return false; // HQ reading already reported it; a bad line never runs
  }
}

/** A `/path` job goes to this ship's own front door; an absolute URL goes where it says. */
export function jobUrl(url: string, frontDoor: string): string {
  return url.startsWith('/') ? `${frontDoor}${url}` : url;
}

/** GETs every job due in `minute`; each outcome is one log line. */
export async function runDueJobs(jobs: readonly Job[], minute: Date, frontDoor: string, log: Logger): Promise<void> {
  await Promise.all(
    jobs
      .filter((j) => isDue(j.schedule, minute))
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

/** Checks the jobs of the current desired state at the start of every minute. Returns a stop function. */
export function startJobs(current: () => readonly Job[], frontDoor: string, log: Logger): () => void {
  let timer: NodeJS.Timeout | null = null;
  const schedule = (): void => {
    const now = Date.now();
    const nextMinute = Math.floor(now / 60_000) * 60_000 + 60_000;
    timer = setTimeout(() => {
      void runDueJobs(current(), new Date(nextMinute), frontDoor, log);
      schedule();
    }, nextMinute - now);
  };
  schedule();
  return () => {
    if (timer) clearTimeout(timer);
  };
}
