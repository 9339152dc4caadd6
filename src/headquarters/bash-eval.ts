import { spawn } from 'node:child_process';
import { killGroup as killProcessGroup } from '../util/process-group.js';
import type { Problem } from './types.js';

/**
 * Sources one HQ bash file (orders, remote, .starphleet) in a clean bash with a time limit and reports what it did.
 *
 * Why a framed stream instead of plain capture: stdout and our records share one pipe, and a DEBUG trap writes the
 * current line before every command of the file, so any stray output can be blamed on the line that printed it.
 * Records are `\x1e KIND \x1f LINE [\x1f ARG] \x1d`.
 */

export interface VerbCall {
  readonly verb: string;
  readonly line: number;
  readonly args: readonly string[];
}

export interface BashEvalResult {
  readonly calls: readonly VerbCall[];
  /** Variables exported by the file (the baseline environment excluded). */
  readonly env: Readonly<Record<string, string>>;
  readonly problems: readonly Problem[];
}

export interface BashEvalOptions {
  /** Absolute path of the file to source. */
  readonly path: string;
  /** File name relative to the HQ root, for problems. */
  readonly file: string;
  /** Verbs defined before the file is sourced; each call is recorded with its arguments. */
  readonly verbs: readonly string[];
  readonly cwd: string;
  readonly timeoutMs: number;
}

const BASE_ENV: Readonly<Record<string, string>> = {
  PATH: '/usr/local/bin:/usr/bin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/nonexistent',
};
/** Names bash itself exports or that we set: never part of what the file exported. */
const IGNORED_NAMES = new Set(['_', 'SHLVL', 'PWD', 'OLDPWD', '__sp_file']);

const VERB_NAME = /^[a-z_][a-z0-9_]*$/;

function wrapper(verbs: readonly string[]): string {
  for (const v of verbs) if (!VERB_NAME.test(v)) throw new Error(`bad verb name ${v}`);
  const verbDefs = verbs
    .map((v) => `${v}() { printf '\\x1eC\\x1f%s\\x1f${v}' "\${BASH_LINENO[0]}" >&3; local a; for a in "$@"; do printf '\\x1f%s' "$a" >&3; done; printf '\\x1d' >&3; }`)
    .join('\n');
  return `
exec 3>&1
${verbDefs}
command_not_found_handle() { printf '\\x1eU\\x1f%s\\x1f%s\\x1d' "\${BASH_LINENO[0]}" "$1" >&3; return 127; }
set -T
trap '[[ \${BASH_SOURCE[0]} == "$__sp_file" ]] && printf "\\x1eL\\x1f%s\\x1d" "$LINENO" >&3' DEBUG
trap '[[ \${BASH_SOURCE[0]} == "$__sp_file" ]] && printf "\\x1eE\\x1f%s\\x1d" "$LINENO" >&3' ERR
__sp_finish() {
  trap - DEBUG ERR
  local n
  for n in $(compgen -e); do printf '\\x1eV\\x1f0\\x1f%s\\x1f%s\\x1d' "$n" "\${!n}" >&3; done
  printf '\\x1eX\\x1f%s\\x1d' "$1" >&3
}
# EXIT, not the line after source: an orders file that calls 'exit N' must still report its status.
trap '__sp_finish $?' EXIT
source "$__sp_file"
`;
}

interface Record_ {
  readonly kind: string;
  readonly line: number;
  readonly args: string[];
}

/** Splits the framed stream into records and stray stdout text (with the line that was running when it appeared). */
function parseStream(text: string): { records: Record_[]; stray: { line: number; text: string }[] } {
  const records: Record_[] = [];
  const stray: { line: number; text: string }[] = [];
  let currentLine = 0;
  let i = 0;
  while (i < text.length) {
    const start = text.indexOf('\x1e', i);
    const end = start < 0 ? -1 : text.indexOf('\x1d', start);
    const plainEnd = start < 0 || end < 0 ? text.length : start;
    if (plainEnd > i) stray.push({ line: currentLine, text: text.slice(i, plainEnd) });
    if (start < 0 || end < 0) break;
    const [kind = '', line = '0', ...args] = text.slice(start + 1, end).split('\x1f');
    const rec = { kind, line: Number(line), args };
    if (kind === 'L') currentLine = rec.line;
    else records.push(rec);
    i = end + 1;
  }
  return { records, stray };
}

function quoteOutput(text: string): string {
  const t = text.trim();
  return JSON.stringify(t.length > 80 ? `${t.slice(0, 77)}...` : t);
}

export function evaluateBashFile(opts: BashEvalOptions): Promise<BashEvalResult> {
  return new Promise((resolve) => {
    const child = spawn('bash', ['--noprofile', '--norc', '-c', wrapper(opts.verbs)], {
      cwd: opts.cwd,
      env: { ...BASE_ENV, __sp_file: opts.path },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outBytes = 0;
    let timedOut = false;
    const killGroup = (): void => void killProcessGroup(child.pid, 'SIGKILL');
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    child.stdout.on('data', (b: Buffer) => {
      outBytes += b.length;
      // An orders file that floods stdout is an error anyway; stop it from eating memory.
      if (outBytes > 1 << 20) killGroup();
      else out.push(b);
    });
    child.stderr.on('data', (b: Buffer) => {
      if (err.reduce((n, x) => n + x.length, 0) < 64 * 1024) err.push(b);
    });
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ calls: [], env: {}, problems: [{ file: opts.file, message: `cannot run bash: ${e.message}` }] });
    });
    child.on('close', () => {
      clearTimeout(timer);
      // Children the file left in the background must not outlive the evaluation.
      killGroup();
      resolve(interpret(opts, Buffer.concat(out).toString('utf8'), Buffer.concat(err).toString('utf8'), timedOut, outBytes));
    });
  });
}

function interpret(opts: BashEvalOptions, stdout: string, stderr: string, timedOut: boolean, outBytes: number): BashEvalResult {
  const problems: Problem[] = [];
  const { records, stray } = parseStream(stdout);
  const calls: VerbCall[] = [];
  const env: Record<string, string> = {};
  let exit: number | undefined;
  let lastErrLine: number | undefined;
  for (const r of records) {
    if (r.kind === 'C') calls.push({ verb: r.args[0] ?? '', line: r.line, args: r.args.slice(1) });
    else if (r.kind === 'U') problems.push({ file: opts.file, line: r.line, message: `unknown verb '${r.args[0] ?? ''}'` });
    else if (r.kind === 'E') lastErrLine = r.line;
    else if (r.kind === 'V') {
      const [name = '', value = ''] = r.args;
      if (!IGNORED_NAMES.has(name) && BASE_ENV[name] !== value) env[name] = value;
    } else if (r.kind === 'X') exit = r.line; // the status travels in the line slot
  }
  for (const s of stray) {
    if (s.text.trim() === '') continue;
    problems.push({ file: opts.file, ...(s.line ? { line: s.line } : {}), message: `printed on stdout: ${quoteOutput(s.text)}` });
  }
  for (const l of stderr.split('\n')) {
    if (l.trim() === '') continue;
    const m = /line (\d+): (.*)$/.exec(l);
    // command_not_found_handle already reported unknown verbs; bash's own message would only repeat it.
    if (m && /command not found/.test(m[2] ?? '')) continue;
    problems.push(m ? { file: opts.file, line: Number(m[1]), message: m[2] ?? l } : { file: opts.file, message: `printed on stderr: ${quoteOutput(l)}` });
  }
  if (timedOut) problems.push({ file: opts.file, message: `did not finish within ${opts.timeoutMs / 1000} s` });
  else if (outBytes > 1 << 20) problems.push({ file: opts.file, message: 'printed more than 1 MiB' });
  else if (exit === undefined) problems.push({ file: opts.file, message: 'ended without reporting back (exec or a killed shell?)' });
  else if (exit !== 0 && !(lastErrLine !== undefined && problems.some((p) => p.line === lastErrLine))) {
    // A failure whose cause is already reported on that line (an unknown verb) needs no second problem.
    problems.push({ file: opts.file, ...(lastErrLine ? { line: lastErrLine } : {}), message: `exited with status ${exit}` });
  }
  return { calls, env, problems };
}
