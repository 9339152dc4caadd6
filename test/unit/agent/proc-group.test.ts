import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { groupAlive, sandboxInits } from '../../../src/agent/runtime/proc.js';
import { unreapedZombie } from '../../helpers/zombie.js';

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
  const z = await unreapedZombie({ ownGroup: true });
  try {
    assert.doesNotThrow(() => process.kill(-z.pid, 0), 'the kernel still counts the zombie in its group');
    assert.equal(groupAlive(z.pid), false, 'a zombie-only group is gone');
  } finally {
    z.parent.kill('SIGKILL');
  }
});
