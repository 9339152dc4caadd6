import type { HashName } from './file-hash.js';
import { shellWords } from './scp-command.js';

/** The coreutils programs an admiral's exec may run against the view (what rclone and SFTPGo's clients run). */
const PROGRAMS: Readonly<Record<string, HashName>> = { md5sum: 'md5', sha1sum: 'sha1', sha256sum: 'sha256' };

export interface HashCommand {
  readonly program: string;
  readonly hash: HashName;
  /** Absolute paths, as written in the command (that is how coreutils prints them back). */
  readonly operands: readonly string[];
}

/**
 * `md5sum|sha1sum|sha256sum [--] /path...`: the one shape answered from the view. Anything else (an option, stdin
 * as `-` or no operand at all, a relative path, anything the shell would expand: shellWords strict) is left to the
 * admiral's shell, as before.
 */
export function parseHashCommand(command: string): HashCommand | null {
  const words = shellWords(command, { strict: true });
  if (words === null || words.length < 2) return null;
  const [program, ...rest] = words as [string, ...string[]];
  const hash = Object.hasOwn(PROGRAMS, program) ? PROGRAMS[program] : undefined;
  if (hash === undefined) return null;
  // GNU getopt takes options anywhere before `--`.
  const dashdash = rest.indexOf('--');
  const before = dashdash < 0 ? rest : rest.slice(0, dashdash);
  if (before.some((w) => w.startsWith('-'))) return null;
  const operands = dashdash < 0 ? rest : [...before, ...rest.slice(dashdash + 1)];
  if (operands.length === 0 || operands.some((w) => !w.startsWith('/'))) return null;
  return { program, hash, operands };
}

/**
 * One line of coreutils 9's output: `<hex>  <name>`, and a name holding a backslash, newline or carriage return
 * escaped (`\\`, `\n`, `\r`) behind a leading backslash, so every line stays one line.
 */
export function coreutilsLine(hex: string, name: string): string {
  if (!/[\\\n\r]/.test(name)) return `${hex}  ${name}\n`;
  return `\\${hex}  ${name.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}\n`;
}

/** Characters that never need quoting in coreutils' messages (gnulib quotearg, shell-escape style, colon quoted too). */
const PLAIN = /^[A-Za-z0-9%+,\-./@\]_{}~#]$/;
const C_ESCAPES: Readonly<Record<number, string>> = { 7: 'a', 8: 'b', 9: 't', 10: 'n', 11: 'v', 12: 'f', 13: 'r' };

/**
 * A file name as coreutils quotes it in an error message (`md5sum: 'a b': Is a directory`), in the C locale: plain
 * names bare; otherwise in single quotes (double quotes for a name with a ' and nothing special to them), with
 * control and non-ASCII bytes as $'\ooo' pieces.
 */
export function quoteName(name: string): string {
  if (name === '') return "''";
  const bytes = Buffer.from(name, 'utf8');
  const printable = (b: number): boolean => b >= 0x20 && b < 0x7f;
  const plainAt = (ch: string, i: number): boolean => {
    if (!PLAIN.test(ch)) return false;
    if (ch === '#' || ch === '~') return i !== 0;
    if (ch === '{' || ch === '}') return name.length !== 1;
    return true;
  };
  if ([...name].every((ch, i) => plainAt(ch, i))) return name;
  if (bytes.every(printable)) {
    if (!name.includes("'")) return `'${name}'`;
    if (!/[$`"\\!]/.test(name)) return `"${name}"`;
    return `'${name.replace(/'/g, "'\\''")}'`;
  }
  let out = "'";
  let inEscape = false;
  for (const b of bytes) {
    if (printable(b)) {
      if (inEscape) out += "''";
      inEscape = false;
      out += b === 0x27 ? "'\\''" : String.fromCharCode(b);
    } else {
      if (!inEscape) out += "'$'";
      inEscape = true;
      out += `\\${C_ESCAPES[b] ?? b.toString(8).padStart(3, '0')}`;
    }
  }
  return `${out}'`;
}
