import { splitCronLine } from '../util/cron-schedule.js';
import type { Job, Problem } from './types.js';

/**
 * HQ `jobs`: `<5 cron fields> <url>` or `<@shortcut> <url>` per line, as cron reads a crontab (@reboot: once when the
 * ship starts); `#` comments and blank lines allowed. Errors name the field that is wrong.
 */
export function parseJobs(text: string, file: string): { jobs: Job[]; problems: Problem[] } {
  const jobs: Job[] = [];
  const problems: Problem[] = [];
  text.split('\n').forEach((raw, i) => {
    const line = i + 1;
    const l = raw.trim();
    if (l === '' || l.startsWith('#')) return;
    const split = splitCronLine(l, looksLikeUrl);
    if ('error' in split) {
      problems.push({ file, line, message: split.error });
      return;
    }
    const [url = '', ...extra] = split.target;
    if (extra.length > 0) {
      problems.push({ file, line, message: `one url per line: ${JSON.stringify(extra.join(' '))} follows ${url}` });
      return;
    }
    if (!isJobUrl(url)) {
      problems.push({ file, line, message: `not an http(s) url or /path: ${JSON.stringify(url)}` });
      return;
    }
    jobs.push({ line, schedule: split.schedule, url });
  });
  return { jobs, problems };
}

/** What stands in a line's url place: an absolute URL or a /path (cron fields never start with / or hold ://). */
function looksLikeUrl(word: string): boolean {
  return word.startsWith('/') || word.includes('://');
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
