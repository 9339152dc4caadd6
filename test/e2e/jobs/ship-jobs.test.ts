import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isDue, jobUrl, runDueJobs } from '../../../src/schedule/cron-jobs.js';
import { initRepo, commit } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';

const ships: ShipProcess[] = [];
after(async () => {
  for (const s of ships) {
    await s.stop();
    await killRecordedInstances(s.dataDir);
  }
});

test('jobs: cron schedules fire in the right minutes', () => {
  const at = (iso: string): Date => new Date(iso);
  assert.equal(isDue('*/5 * * * *', at('2026-11-22T10:05:00')), true);
  assert.equal(isDue('*/5 * * * *', at('2026-11-22T10:06:00')), false);
  assert.equal(isDue('0 3 * * *', at('2026-11-22T03:00:00')), true);
  assert.equal(isDue('0 3 * * *', at('2026-11-22T04:00:00')), false);
  assert.equal(isDue('0 0 * * 0', at('2026-11-22T00:00:00')), true, '2026-11-22 is a Sunday');
  assert.equal(isDue('not a schedule', at('2026-11-22T00:00:00')), false);
  assert.equal(jobUrl('/echo/tick', 'http://127.0.0.1:8080'), 'http://127.0.0.1:8080/echo/tick');
  assert.equal(jobUrl('https://example.com/x', 'http://127.0.0.1:8080'), 'https://example.com/x');
});

test('jobs: due jobs are GET-requested over real HTTP, each outcome logged', async () => {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url ?? '');
    res.statusCode = req.url === '/fail' ? 500 : 200;
    res.end('ok');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const lines: string[] = [];
  await runDueJobs(
    [
      { line: 1, schedule: '* * * * *', url: '/tick' },
      { line: 2, schedule: '0 0 1 1 *', url: '/never' },
      { line: 3, schedule: '*/2 * * * *', url: `${base}/fail` },
    ],
    new Date('2026-11-22T10:06:00'),
    base,
    (l) => lines.push(l),
  );
  server.close();
  assert.deepEqual(hits.sort(), ['/fail', '/tick']);
  assert.ok(lines.includes('job jobs:1 GET /tick -> 200'), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith('job jobs:3 GET') && l.endsWith('-> 500')), lines.join('\n'));
});

test('shipscripts: executable HQ scripts run at start and after every HQ change, with the ship env', async () => {
  const root = tmpDir('sp-scripts-');
  const hq = join(root, 'hq');
  initRepo(hq, { 'shipscripts/hello': { content: '#!/bin/bash\necho "hello from $STARPHLEET_SHIP v1"\n', mode: 0o755 } });
  const s = await startShip({ headquarters: hq, dataDir: join(root, 'data') });
  ships.push(s);
  await s.waitForLog(/shipscript hello: hello from testship v1/);
  await s.waitForLog(/shipscript hello: exit 0/);
  const mark = s.output().length;
  commit(hq, { 'shipscripts/hello': { content: '#!/bin/bash\necho v2 >&2\nexit 4\n', mode: 0o755 } });
  await s.waitForLog(/shipscript hello: v2/, 20_000, mark);
  await s.waitForLog(/shipscript hello: exit 4/, 20_000, mark);
});
