import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bootTicks, reloadDone, type Worker } from '../../../src/dataplane/nginx/nginx-procs.js';
import { procStat } from '../../../src/util/proc-stat.js';

const w = (pid: number, started: number, shuttingDown = false): Worker => ({ pid, started, shuttingDown });

test("an nginx reload is done once a worker started since the signal answers and every other one is shutting down", () => {
  const hup = 1000;
  assert.equal(reloadDone([w(1, 900), w(2, 900)], hup), false, 'only the workers from before');
  assert.equal(reloadDone([w(1, 900), w(2, 900), w(3, 1001)], hup), false, 'old ones not yet told to stop');
  assert.equal(reloadDone([w(1, 900, true), w(2, 900, true), w(3, 1001)], hup), true);
  assert.equal(reloadDone([w(3, 1000), w(4, 1002)], hup), true, 'the old ones gone already');
  // A plane given its first table right after it started: its master was still starting workers of the first config,
  // so one of them was in no list taken before the signal; it is old all the same until it shuts down.
  assert.equal(reloadDone([w(1, 990, true), w(2, 999), w(3, 1001)], hup), false, 'a late worker of the old config');
  assert.equal(reloadDone([w(1, 990, true), w(2, 999, true), w(3, 1001)], hup), true);
  assert.equal(reloadDone([], hup), false);
});

test("the clock the workers' start is compared with is the one /proc/<pid>/stat counts in", () => {
  const before = bootTicks();
  const mine = Number(procStat(process.pid)?.startTime);
  const after = bootTicks();
  assert.ok(mine <= after && mine > before - 60 * 60 * 100, `this process started at tick ${mine}, now is ${before}..${after}`);
  assert.ok(after >= before);
});
