import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { lstatSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { writeFileAtomic, writeIfChanged } from '../../../src/util/atomic-write.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('atomic write (util/atomic-write.ts)', () => {
  test('a link planted at the target is replaced, never written through', async () => {
    const d = tmpDir();
    const victim = join(d, 'victim');
    writeFileSync(victim, 'keep\n');
    symlinkSync(victim, join(d, 'out'));
    await writeFileAtomic(join(d, 'out'), 'new\n', 0o600);
    assert.equal(readFileSync(victim, 'utf8'), 'keep\n');
    assert.ok(lstatSync(join(d, 'out')).isFile());
    assert.equal(readFileSync(join(d, 'out'), 'utf8'), 'new\n');
  });

  test('the mode is exact whatever the umask, and no temp file is left', async () => {
    const d = tmpDir();
    const old = process.umask(0o077);
    try {
      await writeFileAtomic(join(d, 'sub', 'f'), 'x', 0o644);
    } finally {
      process.umask(old);
    }
    assert.equal(statSync(join(d, 'sub', 'f')).mode & 0o777, 0o644);
    assert.deepEqual(readdirSync(join(d, 'sub')), ['f']);
  });

  test('writeIfChanged keeps an unchanged file (same inode) but sets its mode', async () => {
    const d = tmpDir();
    const f = join(d, 'hook');
    await writeIfChanged(f, '#!/bin/sh\n', 0o755);
    const ino = statSync(f).ino;
    execFileSync('chmod', ['0600', f]);
    await writeIfChanged(f, '#!/bin/sh\n', 0o755);
    assert.equal(statSync(f).ino, ino);
    assert.equal(statSync(f).mode & 0o777, 0o755);
    await writeIfChanged(f, '#!/bin/sh\nexit 0\n', 0o755);
    assert.notEqual(statSync(f).ino, ino);
    assert.equal(readFileSync(f, 'utf8'), '#!/bin/sh\nexit 0\n');
  });

  test('writeIfChanged neither reads through a link with the same content nor waits on a FIFO', async () => {
    const d = tmpDir();
    const victim = join(d, 'victim');
    writeFileSync(victim, 'same', { mode: 0o600 });
    symlinkSync(victim, join(d, 'link'));
    await writeIfChanged(join(d, 'link'), 'same', 0o777);
    assert.equal(statSync(victim).mode & 0o777, 0o600, 'the link target was not chmod-ed');
    assert.ok(lstatSync(join(d, 'link')).isFile());
    execFileSync('mkfifo', [join(d, 'fifo')]);
    await writeIfChanged(join(d, 'fifo'), 'data', 0o644);
    assert.equal(readFileSync(join(d, 'fifo'), 'utf8'), 'data');
  });
});
