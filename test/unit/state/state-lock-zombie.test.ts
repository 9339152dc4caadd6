import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DataDirBusy, lockDataDir } from '../../../src/state/lock.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * A ship killed after the ship that started it had gone (an updated one) waits as a zombie until PID 1 reaps it: seen
 * in a CI run, where the next ship then refused to start ("another ship is running") over a process that had ended.
 */
test('a data dir whose ship.pid names a zombie is taken over; one naming a live process is not', async () => {
  const dir = tmpDir('sp-lock-zombie-');
  // python forks a child that exits at once and never reaps it: a zombie with a known pid, and a live parent.
  const parent = spawn('python3', ['-c', 'import os, sys, time\npid = os.fork()\nif pid == 0: os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const zombie = Number(await waitFor(() => (/^\d+\n/.test(out) ? out.trim() : null), 'the zombie pid', 10_000));
    await waitFor(() => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false, 'the child to be a zombie', 10_000);

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
