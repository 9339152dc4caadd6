import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { groupAlive, sandboxInits } from '../../../src/agent/runtime/proc.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * groupAlive answers "gone" from one kill(-pgid, 0) when the group has no member at all, and still reads the members'
 * state when it has some: a group whose only member is a zombie nobody reaps is gone, a live one is not.
 */
test('a process group: alive while a member runs, gone once empty, gone when only a zombie is left', async () => {
  const leader = spawn('sleep', ['30'], { detached: true, stdio: 'ignore' });
  const pgid = leader.pid ?? 0;
  assert.ok(pgid > 1);
  assert.equal(groupAlive(pgid), true, 'a running leader');
  const exited = new Promise((r) => leader.once('exit', r));
  process.kill(-pgid, 'SIGKILL');
  await exited;
  assert.equal(groupAlive(pgid), false, 'nothing left in the group');
  assert.deepEqual(sandboxInits(pgid), []);

  // A child that makes its own group and exits unreaped: a group of one zombie, its parent alive elsewhere.
  const parent = spawn('python3', ['-c', 'import os, time\npid = os.fork()\nif pid == 0:\n    os.setpgid(0, 0)\n    os._exit(0)\nprint(pid, flush=True)\ntime.sleep(60)'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const zombie = Number(await waitFor(() => (/^\d+\n/.test(out) ? out.trim() : null), 'the zombie pid', 10_000));
    await waitFor(() => readFileSync(`/proc/${zombie}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false, 'the child to be a zombie', 10_000);
    assert.doesNotThrow(() => process.kill(-zombie, 0), 'the kernel still counts the zombie in its group');
    assert.equal(groupAlive(zombie), false, 'a zombie-only group is gone');
  } finally {
    parent.kill('SIGKILL');
  }
});
