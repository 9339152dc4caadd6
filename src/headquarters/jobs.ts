import { CronExpressionParser } from 'cron-parser';
import type { Job, Problem } from './types.js';

/** HQ `jobs`: `<5 cron fields> <url>` per line; `#` comments and blank lines allowed. */
export function parseJobs(text: string, file: string): { jobs: Job[]; problems: Problem[] } {
  const jobs: Job[] = [];
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    const fields = l.split(/\s+/);
    if (fields.length !== 6) {
      problems.push({ file, line, message: `expected 5 cron fields and a url, got ${fields.length} fields` });
      return;
    }
    const schedule = fields.slice(0, 5).join(' ');
    const url = fields[5] as string;
    try {
      CronExpressionParser.parse(schedule, { strict: false });
    } catch (e) {
      problems.push({ file, line, message: `bad cron schedule ${JSON.stringify(schedule)}: ${(e as Error).message}` });
      return;
    }
    if (!isJobUrl(url)) {
      problems.push({ file, line, message: `not an http(s) url or /path: ${JSON.stringify(url)}` });
      return;
    }
    jobs.push({ line, schedule, url });
  });
  return { jobs, problems };
}

/** Absolute http(s) URLs, or a path the ship requests from its own front door. */
function isJobUrl(url: string): boolean {
  if (url.startsWith('/')) return !url.startsWith('//');
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:';
  } catch {
    return false;
  }
}
