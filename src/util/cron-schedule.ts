import { CronExpressionParser } from 'cron-parser';

/**
 * Cron schedules as cron(8) reads a crontab line: five fields (minute hour day-of-month month day-of-week) or one of
 * its `@` shortcuts. cron-parser evaluates them; it is more lenient than cron (seconds, `?`, `L`, `#`, `W`), so each
 * field is checked here first, and an error names the field that is wrong.
 */

interface Field {
  readonly name: string;
  readonly min: number;
  readonly max: number;
  readonly names?: readonly string[];
}

const MONTHS = ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'];
const DAYS = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

export const CRON_FIELDS: readonly Field[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day-of-month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: MONTHS },
  { name: 'day-of-week', min: 0, max: 7, names: DAYS },
];

/** The five fields, as an error message says them. */
export const FIELD_NAMES = CRON_FIELDS.map((f) => f.name).join(' ');

/** cron's shortcuts; @reboot has no schedule: it runs once when the ship starts. */
export const SHORTCUTS: Readonly<Record<string, string | null>> = {
  '@reboot': null,
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
  '@monthly': '0 0 1 * *',
  '@weekly': '0 0 * * 0',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@hourly': '0 * * * *',
};

export type CronSchedule = { readonly kind: 'reboot' } | { readonly kind: 'every'; readonly expression: string };

/** A value of a field: a number in range or (month, day-of-week) a three-letter name; null when it is neither. */
function value(f: Field, v: string): number | null {
  if (/^[0-9]{1,2}$/.test(v)) {
    const n = Number(v);
    return n >= f.min && n <= f.max ? n : null;
  }
  const i = f.names?.indexOf(v.toLowerCase()) ?? -1;
  return i < 0 ? null : i + (f.name === 'month' ? 1 : 0);
}

/** Why one field is not one cron reads, or null when it is. */
export function fieldProblem(index: number, text: string): string | null {
  const f = CRON_FIELDS[index] as Field;
  const what = `${f.name} field ${JSON.stringify(text)}`;
  const allowed = `${f.min}-${f.max}${f.names ? `, ${f.names[0]}-${f.names[f.names.length - 1]}` : ''}`;
  for (const item of text.split(',')) {
    const m = /^([^/]+)(?:\/([^/]*))?$/.exec(item);
    if (!m) return `${what}: ${JSON.stringify(item)} is not a value, range or step`;
    const [, span = '', step] = m;
    if (step !== undefined && !(/^[0-9]+$/.test(step) && Number(step) >= 1 && Number(step) <= f.max)) return `${what}: step ${JSON.stringify(step)} must be a whole number from 1 to ${f.max}`;
    if (span === '*') continue;
    const ends = span.split('-');
    if (ends.length > 2 || ends.some((e) => e === '')) return `${what}: ${JSON.stringify(span)} is not a value or a range a-b`;
    const nums = ends.map((e) => value(f, e));
    const bad = ends.find((_, i) => nums[i] === null);
    if (bad !== undefined) {
      const why = /^[0-9]+$/.test(bad) ? 'is out of range' : 'is not a number or name';
      return bad === text ? `${what} ${why} (${allowed})` : `${what}: ${JSON.stringify(bad)} ${why} (${allowed})`;
    }
    if (nums.length === 2 && (nums[0] as number) > (nums[1] as number)) return `${what}: range ${span} runs backwards`;
  }
  return null;
}

/** A schedule (five fields or a shortcut) as cron reads it, or the reason it is not one. */
export function parseCronSchedule(text: string): CronSchedule | { readonly error: string } {
  const t = text.trim();
  if (t.startsWith('@')) {
    const key = t.toLowerCase();
    if (!(key in SHORTCUTS)) return { error: `unknown shortcut ${t}: cron knows ${Object.keys(SHORTCUTS).join(', ')}` };
    const expression = SHORTCUTS[key] ?? null;
    return expression === null ? { kind: 'reboot' } : { kind: 'every', expression };
  }
  const fields = t.split(/\s+/).filter((f) => f !== '');
  if (fields.length !== 5) return { error: `${fields.length} fields in ${JSON.stringify(t)}: a cron schedule has 5 (${FIELD_NAMES}) or is a shortcut such as @hourly` };
  for (let i = 0; i < 5; i++) {
    const p = fieldProblem(i, fields[i] as string);
    if (p !== null) return { error: p };
  }
  return { kind: 'every', expression: fields.join(' ') };
}

/**
 * Splits a crontab-like line `<schedule> <target...>` where `isTarget` says what a target looks like (a url, a
 * command word). Errors say where the target stands and which field is missing or extra.
 */
export function splitCronLine(line: string, isTarget: (word: string) => boolean): { schedule: string; target: string[] } | { error: string } {
  const words = line.trim().split(/\s+/);
  if (words[0]?.startsWith('@')) {
    const s = parseCronSchedule(words[0]);
    if ('error' in s) return s;
    if (words.length < 2) return { error: `nothing follows ${words[0]}: a url must` };
    return { schedule: words[0], target: words.slice(1) };
  }
  const at = words.findIndex(isTarget);
  if (at >= 0 && at < 5) {
    const missing = CRON_FIELDS.slice(at).map((f) => f.name).join(' ');
    return { error: `${JSON.stringify(words[at])} stands where cron reads the ${CRON_FIELDS[at]?.name} field: ${at} schedule field${at === 1 ? '' : 's'} before it, cron needs 5 (${FIELD_NAMES}); missing: ${missing}` };
  }
  for (let i = 0; i < Math.min(5, words.length); i++) {
    const p = fieldProblem(i, words[i] as string);
    if (p !== null) return { error: p };
  }
  if (words.length < 6) return { error: `no url after the 5 schedule fields (${FIELD_NAMES})` };
  if (at > 5) return { error: `${at} fields before the url ${JSON.stringify(words[at])}: cron reads 5 (${FIELD_NAMES}); there is no seconds or year field` };
  return { schedule: words.slice(0, 5).join(' '), target: words.slice(5) };
}

/** Whether a schedule (five fields or a periodic shortcut) fires in the minute that starts at `minute`; @reboot never does. */
export function firesAt(schedule: string, minute: Date): boolean {
  const s = parseCronSchedule(schedule);
  if ('error' in s || s.kind === 'reboot') return false;
  try {
    return CronExpressionParser.parse(s.expression, { currentDate: new Date(minute.getTime() - 1) }).next().getTime() === minute.getTime();
  } catch {
    return false;
  }
}

export function isReboot(schedule: string): boolean {
  const s = parseCronSchedule(schedule);
  return !('error' in s) && s.kind === 'reboot';
}
