import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataDirBusy, lockDataDir } from '../../../src/state/lock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { unreapedZombie } from '../../helpers/zombie.js';

/**
 * A ship killed after the ship that started it had gone (an updated one) waits as a zombie until PID 1 reaps it: seen
 * in a CI run, where the next ship then refused to start ("another ship is running") over a process that had ended.
 */
test('a data dir whose ship.pid names a zombie is taken over; one naming a live process is not', async () => {
  const dir = tmpDir('sp-lock-zombie-');
  const { pid: zombie, parent } = await unreapedZombie();
  try {
    writeFileSync(join(dir, 'ship.pid'), `${parent.pid}\n`);
    assert.throws(() => lockDataDir(dir), (e: Error) => e instanceof DataDirBusy && new RegExp(`pid ${parent.pid}`).test(e.message));

    writeFileSync(join(dir, 'ship.pid'), `${zombie}\n`);
    const release = lockDataDir(dir);
    assert.equal(readFileSync(join(dir, 'ship.pid'), 'utf8').trim(), String(process.pid));
    release();
  } finally {
    parent.kill('SIGKILL');
  }
});
