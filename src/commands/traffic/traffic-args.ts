import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs';
import { ConfigError } from '../../settings/config-error.js';

/** A page given to `maintenance --page FILE` is read where the CLI runs and sent as text: at most this many bytes. */
export const MAX_PAGE_BYTES = 32 * 1024;

/** Splits `--name value` / `--name=value` flags (repeatable) from operands; a flag not in `known` is an error. */
export function parseFlags(args: readonly string[], known: readonly string[], bare: readonly string[] = []): { operands: string[]; flags: Map<string, string[]> } | { error: string } {
  const operands: string[] = [];
  const flags = new Map<string, string[]>();
  const list = [...args];
  while (list.length > 0) {
    const a = list.shift() as string;
    if (!a.startsWith('--')) {
      operands.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    if (bare.includes(name)) {
      flags.set(name, [...(flags.get(name) ?? []), '']);
      continue;
    }
    if (!known.includes(name)) return { error: `unknown option ${name}` };
    const value = eq < 0 ? list.shift() : a.slice(eq + 1);
    if (value === undefined) return { error: `${name} needs a value` };
    flags.set(name, [...(flags.get(name) ?? []), value]);
  }
  return { operands, flags };
}

/**
 * The CLI's side of `maintenance ... --page FILE`: the file is read here (by whoever runs the CLI, with their access,
 * never by the ship), bounded, and sent as `--page-html TEXT`. Other arguments pass as they are.
 */
export function inlinePage(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    const file = a === '--page' ? args[++i] : a.startsWith('--page=') ? a.slice('--page='.length) : undefined;
    if (file === undefined) {
      if (a === '--page') throw new ConfigError('--page needs a file (an HTML page)');
      out.push(a);
      continue;
    }
    out.push('--page-html', readPage(file));
  }
  return out;
}

function readPage(file: string): string {
  let fd: number;
  try {
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw new ConfigError(`--page ${file}: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new ConfigError(`--page ${file}: not a regular file`);
    if (st.size > MAX_PAGE_BYTES) throw new ConfigError(`--page ${file}: ${st.size} bytes, more than ${MAX_PAGE_BYTES}`);
    const buf = Buffer.alloc(MAX_PAGE_BYTES + 1);
    const n = readSync(fd, buf, 0, buf.length, 0);
    if (n > MAX_PAGE_BYTES) throw new ConfigError(`--page ${file}: more than ${MAX_PAGE_BYTES} bytes`);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}
