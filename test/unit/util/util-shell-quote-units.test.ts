import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { posixCommandLine, posixShellQuote } from '../../../src/util/shell-quote.js';

/** What sh makes of a command line: its words, one per NUL. */
function shWords(line: string): string[] {
  return execFileSync('sh', ['-c', `printf '%s\\0' ${line}`], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: '/nonexistent' } }).split('\0').slice(0, -1);
}

const HOSTILE = ["it's", '$(id)', '`id`', 'a b', '*', '~', '~root', '{a,b}', 'x;y', 'a\nb', '', '-n', '"', '\\', 'A=1', '=x', 'plain', 'a=b', 'key=va lue'];

describe('POSIX shell quoting (util/shell-quote.ts)', () => {
  test('posixShellQuote: every word comes back as itself, always quoted', () => {
    for (const w of HOSTILE) assert.deepEqual(shWords(posixShellQuote(w)), [w], JSON.stringify(w));
    assert.equal(posixShellQuote('plain'), `'plain'`);
  });

  test('posixCommandLine: the same words back, plain ones bare, an assignment-looking first word never bare', () => {
    assert.deepEqual(shWords(posixCommandLine(HOSTILE)), HOSTILE);
    assert.equal(posixCommandLine(['starphleet', 'status', '--json']), 'starphleet status --json');
    assert.equal(posixCommandLine(['A=1', 'cmd']), `'A=1' cmd`);
    // As the first word, a bare NAME=value would set a variable instead of running a command.
    assert.equal(execFileSync('sh', ['-c', `${posixCommandLine(['A=1'])} 2>/dev/null; echo $?`], { encoding: 'utf8' }).trim(), '127');
  });
});
