import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { constants } from 'node:os';
import { redactCredentials } from '../../util/redact.js';
import { printable } from '../../util/terminal-safe.js';
import type { ExitStatus } from '../runtime/runtime.js';

/** Lines of an instance log the ship wrote itself (Instance.note): not the app's output. */
const SHIP_NOTE = /^\d{4}-\d\d-\d\dT[\d:.]+Z starphleet: /;
const TAIL_BYTES = 16 * 1024;
const LINES = 5;
const LINE_MAX = 200;

const SIGNAL_NAMES = new Map<number, string>(Object.entries(constants.signals).map(([name, n]) => [n, name]));

/** The size of a log file now (0 when there is none yet): what an instance prints from here on is its own. */
export function logSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * `exit code 1`, `killed by SIGKILL`: a sandbox's (or bash's) exit code 128+n is how a process killed by signal n is
 * reported through its parents, so it is named as such too.
 */
export function describeExit(status: ExitStatus | null): string | null {
  if (status === null) return null;
  if (status.signal !== null) return `killed by ${status.signal}`;
  if (status.code === null) return null;
  const sig = status.code > 128 ? SIGNAL_NAMES.get(status.code - 128) : undefined;
  return sig ? `exit code ${status.code} (${sig})` : `exit code ${status.code}`;
}

/**
 * The last lines the app printed into its log since `from` (its start), without the ship's own notes: at most 5, each
 * made printable and cut to 200 characters (see printable), credentials in URLs hidden. The file is the app's to write, so only its tail is read.
 */
export function lastOutput(file: string, from: number): string[] {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch {
    return [];
  }
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(from, size - TAIL_BYTES);
    if (size <= start) return [];
    const buf = Buffer.alloc(size - start);
    const n = readSync(fd, buf, 0, buf.length, start);
    const lines = buf.subarray(0, n).toString('utf8').split(/\r?\n/);
    // A tail cut mid-line starts with a piece of one: drop it unless the read began at the instance's start.
    if (start > from) lines.shift();
    return lines
      .filter((l) => l.trim() !== '' && !SHIP_NOTE.test(l))
      .slice(-LINES)
      .map((l) => redactCredentials(printable(l, LINE_MAX).trimEnd()));
  } finally {
    closeSync(fd);
  }
}

/** `(exit code 1); last output: Missing script: start | ...` for a start that died; '' when nothing is known. */
export function exitReport(status: ExitStatus | null, cgroupWhy: string | null, file: string, from: number): string {
  const how = [describeExit(status), cgroupWhy].filter((x): x is string => x !== null).join(', ');
  const out = lastOutput(file, from);
  return `${how ? ` (${how})` : ''}${out.length > 0 ? `; last output: ${out.join(' | ')}` : '; it printed nothing'}`;
}
