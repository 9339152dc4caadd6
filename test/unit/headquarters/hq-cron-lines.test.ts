import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseAppJson } from '../../../src/agent/releases/app-json.js';
import { parseJobs } from '../../../src/headquarters/jobs.js';
import { isDue, runDueJobs } from '../../../src/schedule/cron-jobs.js';
import { firesAt, parseCronSchedule, SHORTCUTS } from '../../../src/util/cron-schedule.js';

/** HQ `jobs` and app.json `cron` read as cron(8) reads a crontab line: shortcuts, and errors that name the field. */

const at = (iso: string): Date => new Date(iso);

/** The one problem parseJobs reports for a line, or the job it made. */
function one(line: string): string {
  const r = parseJobs(`${line}\n`, 'jobs');
  if (r.problems.length > 0) return `jobs:${r.problems[0]?.line}: ${r.problems[0]?.message}`;
  return `ok ${r.jobs[0]?.schedule} ${r.jobs[0]?.url}`;
}

test('every cron shortcut is read, with the schedule cron gives it', () => {
  assert.deepEqual(Object.keys(SHORTCUTS).sort(), ['@annually', '@daily', '@hourly', '@midnight', '@monthly', '@reboot', '@weekly', '@yearly']);
  const cases: [string, string, string][] = [
    // shortcut, a minute it fires in, a minute it does not
    ['@hourly', '2026-11-22T10:00:00', '2026-11-22T10:01:00'],
    ['@daily', '2026-11-22T00:00:00', '2026-11-22T01:00:00'],
    ['@midnight', '2026-11-22T00:00:00', '2026-11-22T00:30:00'],
    ['@weekly', '2026-11-22T00:00:00', '2026-11-23T00:00:00'], // 2026-11-22 is a Sunday
    ['@monthly', '2026-12-01T00:00:00', '2026-12-02T00:00:00'],
    ['@yearly', '2027-01-01T00:00:00', '2027-02-01T00:00:00'],
    ['@annually', '2027-01-01T00:00:00', '2026-12-01T00:00:00'],
  ];
  for (const [s, yes, no] of cases) {
    assert.equal(one(`${s} /tick`), `ok ${s} /tick`, s);
    assert.equal(isDue(s, at(yes)), true, `${s} fires at ${yes}`);
    assert.equal(isDue(s, at(no)), false, `${s} does not fire at ${no}`);
  }
  assert.equal(one('@HOURLY /tick'), 'ok @HOURLY /tick', 'shortcuts are case-insensitive, as cronie reads them');
  assert.equal(one('@reboot /boot'), 'ok @reboot /boot');
  assert.deepEqual(parseCronSchedule('@reboot'), { kind: 'reboot' });
  assert.equal(firesAt('@reboot', at('2026-11-22T00:00:00')), false, '@reboot is not on a clock');
});

test('@reboot jobs run when asked for the reboot round, and only then', async () => {
  const asked: string[] = [];
  const realFetch = globalThis.fetch;
  globalThis.fetch = ((url: string) => {
    asked.push(url);
    return Promise.resolve(new Response('ok'));
  }) as typeof fetch;
  try {
    const jobs = [
      { line: 1, schedule: '@reboot', url: '/boot' },
      { line: 2, schedule: '* * * * *', url: '/tick' },
    ];
    const minute = at('2026-11-22T10:06:00');
    await runDueJobs(jobs, minute, 'http://ship', () => {}, true);
    assert.deepEqual(asked, ['http://ship/boot']);
    asked.length = 0;
    await runDueJobs(jobs, minute, 'http://ship', () => {});
    assert.deepEqual(asked, ['http://ship/tick']);
  } finally {
    globalThis.fetch = realFetch;
  }
});

test('a wrong line names the field that is wrong', () => {
  const cases: [string, string][] = [
    ['*/1 * * * /greeter/', 'jobs:1: "/greeter/" stands where cron reads the day-of-week field: 4 schedule fields before it, cron needs 5 (minute hour day-of-month month day-of-week); missing: day-of-week'],
    ['0 3 /x', 'jobs:1: "/x" stands where cron reads the day-of-month field: 2 schedule fields before it, cron needs 5 (minute hour day-of-month month day-of-week); missing: day-of-month month day-of-week'],
    ['0 * * * * * /x', 'jobs:1: 6 fields before the url "/x": cron reads 5 (minute hour day-of-month month day-of-week); there is no seconds or year field'],
    ['61 * * * * /x', 'jobs:1: minute field "61" is out of range (0-59)'],
    ['0 24 * * * /x', 'jobs:1: hour field "24" is out of range (0-23)'],
    ['0 0 0 * * /x', 'jobs:1: day-of-month field "0" is out of range (1-31)'],
    ['0 0 * 13 * /x', 'jobs:1: month field "13" is out of range (1-12, jan-dec)'],
    ['0 0 * * 8 /x', 'jobs:1: day-of-week field "8" is out of range (0-7, sun-sat)'],
    ['0 0 * * fri-mon /x', 'jobs:1: day-of-week field "fri-mon": range fri-mon runs backwards'],
    ['0 0 * * 1,L /x', 'jobs:1: day-of-week field "1,L": "L" is not a number or name (0-7, sun-sat)'],
    ['*/0 * * * * /x', 'jobs:1: minute field "*/0": step "0" must be a whole number from 1 to 59'],
    ['0 0 * * ? /x', 'jobs:1: day-of-week field "?" is not a number or name (0-7, sun-sat)'],
    ['* * * * *', 'jobs:1: no url after the 5 schedule fields (minute hour day-of-month month day-of-week)'],
    ['@hourly', 'jobs:1: nothing follows @hourly: a url must'],
    ['@often /x', 'jobs:1: unknown shortcut @often: cron knows @reboot, @yearly, @annually, @monthly, @weekly, @daily, @midnight, @hourly'],
    ['* * * * * ftp://x', 'jobs:1: not an http(s) url or /path: "ftp://x"'],
    ['@daily /a /b', 'jobs:1: one url per line: "/b" follows /a'],
  ];
  for (const [line, want] of cases) assert.equal(one(line), want, line);
  // What cron accepts, so do we.
  for (const line of ['*/5 * * * * https://example.com/tick', '0 0 1 jan * /x', '0 9 * * mon-fri /x', '0 0 * * 7 /x', '0-30/10 1,2 * * * /x', '5/15 * * * * /x'])
    assert.match(one(line), /^ok /, line);
});

test('app.json cron takes the periodic shortcuts and names a wrong field; @reboot is for HQ jobs', () => {
  const manifest = (schedule: string): string => JSON.stringify({ cron: [{ command: 'true', schedule }] });
  assert.deepEqual(parseAppJson(manifest('@daily')).cron, [{ command: 'true', schedule: '@daily' }]);
  assert.throws(() => parseAppJson(manifest('0 25 * * *')), /cron\[0\]\.schedule: expected a cron schedule \(hour field "25" is out of range \(0-23\)\)/);
  assert.throws(() => parseAppJson(manifest('@reboot')), /cron\[0\]\.schedule: expected a cron schedule that repeats \(@reboot is for HQ jobs\)/);
});
