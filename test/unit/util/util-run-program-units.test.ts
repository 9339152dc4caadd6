import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { runProgram } from '../../../src/util/run-program.js';
import { tmpDir } from '../../helpers/tmp.js';
import { alive } from '../../helpers/instances.js';


describe('runProgram (util/run-program.ts), with real programs', () => {
  test('git runs in its cwd; one final newline is stripped', async () => {
    const d = tmpDir();
    assert.equal((await runProgram('git', ['init', '-q'], { cwd: d })).exitCode, 0);
    const r = await runProgram('git', ['rev-parse', '--git-dir'], { cwd: d });
    assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.failed, r.timedOut, r.message], [0, '.git', '', false, false, '']);
  });

  test('a non-zero exit comes back failed, never thrown, with its code, stderr and a message naming the command', async () => {
    const r = await runProgram('sh', ['-c', 'echo said; echo oops >&2; exit 3']);
    assert.deepEqual([r.exitCode, r.stdout, r.stderr, r.failed, r.timedOut], [3, 'said', 'oops', true, false]);
    assert.match(r.message, /^sh -c echo said.*: exit code 3\noops$/s);
    const git = await runProgram('git', ['cat-file', 'commit', 'deadbeef'], { cwd: tmpDir() });
    assert.equal(git.exitCode, 128);
    assert.match(git.stderr, /not a git repository/);
  });

  test('only one final newline goes (\\n or \\r\\n), from stdout and stderr alike; none added', async () => {
    const r = await runProgram('sh', ['-c', `printf 'a\\n\\n'; printf 'b\\r\\n' >&2`]);
    assert.deepEqual([r.stdout, r.stderr], ['a\n', 'b']);
    const bare = await runProgram('sh', ['-c', `printf 'no newline'; printf 'é' >&2`]);
    assert.deepEqual([bare.stdout, bare.stderr], ['no newline', 'é']);
  });

  test('a missing program, one not executable and a missing cwd come back failed, naming the program or the dir', async () => {
    const missing = await runProgram('starphleet-no-such-program', ['x']);
    assert.deepEqual([missing.failed, missing.exitCode, missing.stdout], [true, undefined, '']);
    assert.match(missing.message, /starphleet-no-such-program.*ENOENT/);
    const d = tmpDir();
    const script = join(d, 'not-executable');
    writeFileSync(script, '#!/bin/sh\necho ran\n', { mode: 0o644 });
    const denied = await runProgram(script, []);
    assert.equal(denied.failed, true);
    assert.match(denied.message, new RegExp(`${script}.*EACCES`));
    const nowhere = await runProgram('git', ['status'], { cwd: join(d, 'gone') });
    assert.equal(nowhere.failed, true);
    assert.match(nowhere.message, new RegExp(`cannot start git in ${join(d, 'gone')}`));
  });

  test('input is written to stdin and closed; without input stdin is empty, so a reader never waits', async () => {
    const r = await runProgram('cat', [], { input: 'x\ny\n' });
    assert.deepEqual([r.exitCode, r.stdout], [0, 'x\ny']);
    const empty = await runProgram('cat', [], { timeout: 10_000 });
    assert.deepEqual([empty.exitCode, empty.stdout, empty.timedOut], [0, '', false]);
    // A program that stops reading early (EPIPE on our side) is no error of ours: its exit says how it went.
    const early = await runProgram('head', ['-c', '1'], { input: 'z'.repeat(4 * 1024 * 1024) });
    assert.deepEqual([early.exitCode, early.stdout], [0, 'z']);
  });

  test('extendEnv false: the program sees the env given and nothing else (no PATH unless given)', async () => {
    const alone = await runProgram('/usr/bin/env', [], { env: { ONLY: '1' }, extendEnv: false });
    assert.equal(alone.stdout, 'ONLY=1');
    const withPath = await runProgram('/usr/bin/env', [], { env: { ONLY: '1', PATH: '/usr/bin:/bin' }, extendEnv: false });
    assert.deepEqual(withPath.stdout.split('\n').sort(), ['ONLY=1', 'PATH=/usr/bin:/bin']);
    const none = await runProgram('/usr/bin/env', [], { extendEnv: false });
    assert.equal(none.stdout, '');
  });

  test('by default the env given is merged over process.env; undefined takes a variable away', async () => {
    assert.ok(process.env.PATH && process.env.HOME);
    const r = await runProgram('/usr/bin/env', [], { env: { ADDED: 'yes', HOME: undefined } });
    const lines = r.stdout.split('\n');
    assert.ok(lines.includes('ADDED=yes'));
    assert.ok(lines.includes(`PATH=${process.env.PATH}`));
    assert.ok(!lines.some((l) => l.startsWith('HOME=')));
  });

  test('a timeout sends SIGTERM, which a program that obeys dies of', async () => {
    const r = await runProgram('sleep', ['30'], { timeout: 100 });
    assert.deepEqual([r.timedOut, r.failed, r.exitCode, r.signal], [true, true, undefined, 'SIGTERM']);
    assert.match(r.message, /^sleep 30: timed out after 100 ms and was killed \(SIGTERM\)/);
  });

  test('a timeout ignored by the program ends in SIGKILL 5 s later', async () => {
    // exec: the TERM-deaf sleep is the program itself, so nothing outlives the test.
    const r = await runProgram('sh', ['-c', 'trap "" TERM; exec sleep 30'], { timeout: 100 });
    assert.deepEqual([r.timedOut, r.failed, r.exitCode, r.signal], [true, true, undefined, 'SIGKILL']);
  });

  test('a child left holding the pipes does not hold the result past a timeout', async () => {
    const r = await runProgram('sh', ['-c', 'sleep 30 & echo $!; exec sleep 30'], { timeout: 300 });
    const orphan = Number(r.stdout);
    assert.ok(orphan > 0, `the orphan's pid: ${r.stdout}`);
    try {
      assert.deepEqual([r.timedOut, r.signal], [true, 'SIGTERM']);
      assert.ok(alive(orphan), 'the left-behind sleep still holds the pipes, and the result came anyway');
    } finally {
      process.kill(orphan, 'SIGKILL');
    }
  });

  test('output past maxBuffer kills the program and fails clearly, keeping maxBuffer bytes; the default is 100 MB', async () => {
    const small = await runProgram('head', ['-c', '5000', '/dev/zero'], { maxBuffer: 1000 });
    assert.deepEqual([small.failed, small.isMaxBuffer, small.stdout.length, small.timedOut], [true, true, 1000, false]);
    assert.match(small.message, /^head -c 5000 \/dev\/zero: its stdout passed 1000 bytes \(maxBuffer\)/);
    // A program that never stops is stopped, not waited on.
    // (an odd size: the kept bytes end in 'y', not in a newline that would be stripped)
    const endless = await runProgram('yes', [], { maxBuffer: 1024 * 1024 + 1 });
    assert.deepEqual([endless.failed, endless.isMaxBuffer, endless.stdout.length], [true, true, 1024 * 1024 + 1]);
    const err = await runProgram('sh', ['-c', 'head -c 5000 /dev/zero >&2'], { maxBuffer: 100 });
    assert.match(err.message, /its stderr passed 100 bytes/);
    // Node's own default would stop at 1 MB; 5 MB passes whole.
    const big = await runProgram('head', ['-c', String(5 * 1024 * 1024), '/dev/zero']);
    assert.deepEqual([big.failed, big.stdout.length], [false, 5 * 1024 * 1024]);
  });
});
