import assert from 'node:assert/strict';
import { appendFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { describeExit, exitReport, lastOutput, logSize } from '../../../src/agent/deploy/exit-report.js';
import { printable } from '../../../src/util/terminal-safe.js';
import { tmpDir } from '../../helpers/tmp.js';

/** What a start that died says, from a log the app wrote (hostile text: escapes, huge lines, fake notes, credentials). */
describe('a start that dies says why', () => {
  test('exit codes, 128+n as the signal n, signals of the launcher itself', () => {
    assert.equal(describeExit({ code: 3, signal: null }), 'exit code 3');
    assert.equal(describeExit({ code: 137, signal: null }), 'exit code 137 (SIGKILL)');
    assert.equal(describeExit({ code: 143, signal: null }), 'exit code 143 (SIGTERM)');
    assert.equal(describeExit({ code: null, signal: 'SIGSEGV' }), 'killed by SIGSEGV');
    assert.equal(describeExit(null), null);
  });

  test("the last 5 lines since this start, the ship's notes left out, hostile text made printable and short", () => {
    const file = join(tmpDir('sp-exit-'), 'instance.log');
    writeFileSync(file, 'an earlier start said this\n');
    const from = logSize(file);
    appendFileSync(file, '2026-01-01T00:00:00.000Z starphleet: started web.1 of release x\n');
    for (let i = 1; i <= 7; i++) appendFileSync(file, `line ${i}\n`);
    appendFileSync(file, '\u001b[31mred\u001b[0m and a bell\u0007 and \r a carriage return\n');
    appendFileSync(file, `${'x'.repeat(10_000)}\n`);
    appendFileSync(file, 'connecting to https://user:hunter2@db.example.com/x\n');
    appendFileSync(file, '2026-01-01T00:00:01.000Z starphleet: failed: whatever\n\n');
    const lines = lastOutput(file, from);
    assert.equal(lines.length, 5, lines.join('\n'));
    assert.deepEqual(lines.slice(0, 3), ['line 6', 'line 7', '[31mred[0m and a bell and   a carriage return']);
    assert.equal(lines[3], `${'x'.repeat(197)}...`);
    assert.match(lines[4] ?? '', /^connecting to https:\/\/\*\*\*@db\.example\.com\/x$/);
    assert.ok(lines.every((l) => !/[\u0000-\u001f]/.test(l)));
    assert.doesNotMatch(lines.join('\n'), /earlier start|starphleet:|hunter2/);
    // A log of megabytes is read only at its end: a line past 16 KiB is cut from the front, never read whole.
    appendFileSync(file, `${'y'.repeat(1_000_000)}\nthe last word\n`);
    assert.deepEqual(lastOutput(file, from), ['the last word']);
  });

  test('the whole report: how it ended, then what it printed (or that it printed nothing)', () => {
    const dir = tmpDir('sp-exit-');
    const file = join(dir, 'a.log');
    writeFileSync(file, 'Error: DATABASE_URL is not set\n');
    assert.equal(exitReport({ code: 3, signal: null }, null, file, 0), ' (exit code 3); last output: Error: DATABASE_URL is not set');
    assert.equal(exitReport({ code: 137, signal: null }, 'killed by the kernel: it used more memory than its limit (STARPHLEET_MEMORY)', join(dir, 'none.log'), 0), ' (exit code 137 (SIGKILL), killed by the kernel: it used more memory than its limit (STARPHLEET_MEMORY)); it printed nothing');
  });

  test('printable: no control characters or bidi overrides, tabs as spaces, cut with an ellipsis', () => {
    assert.equal(printable('a\tb\u202ec\u0085d', 100), 'a bcd');
    assert.equal(printable('abcdef', 5), 'ab...');
  });
});
