import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isGone, isSameProcess, procStat, processStartTime } from '../../../src/util/proc-stat.js';
import { tmpDir } from '../../helpers/tmp.js';
import { unreapedZombie } from '../../helpers/zombie.js';

/** The one reader of /proc/<pid>/stat: a process names itself, so its name may hold the separators themselves. */
test('procStat: fields after a command name with spaces and parentheses; zombies and gone pids; identity by start time', async () => {
  const dir = tmpDir('sp-proc-stat-');
  const odd = join(dir, 'x) 1 2 (y');
  symlinkSync('/bin/sleep', odd);
  const child = spawn(odd, ['30'], { detached: true, stdio: 'ignore' });
  try {
    const pid = child.pid ?? 0;
    const s = procStat(pid);
    assert.ok(s, 'a running process has a stat');
    assert.equal(s.ppid, process.pid);
    assert.equal(s.pgrp, pid, 'detached: a group of its own');
    assert.match(s.state, /^[RSD]$/);
    assert.equal(isGone(s), false);
    const start = processStartTime(pid);
    assert.match(start ?? '', /^\d+$/);
    assert.equal(isSameProcess({ pid, startTime: start ?? '' }), true);
    assert.equal(isSameProcess({ pid, startTime: `${start}0` }), false, 'another start time is another process');
  } finally {
    child.kill('SIGKILL');
  }
  assert.equal(procStat(2 ** 22 + 1), null, 'past pid_max: no such process');
  assert.equal(isGone(null), true);

  const z = await unreapedZombie();
  try {
    assert.equal(procStat(z.pid)?.state, 'Z');
    assert.equal(isGone(procStat(z.pid)), true, 'a zombie counts as gone');
  } finally {
    z.parent.kill('SIGKILL');
  }
});
