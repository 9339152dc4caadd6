/**
 * The plaintext of a secrets.age file is dotenv lines, read by the same parser as a service repo's `.env`
 * (src/agent/releases/dotenv.ts). This writes them: values are byte-exact through it, and `set`/`unset` change only the
 * lines of the names they touch, so comments and order written with `secrets edit` stay.
 */

const ESCAPE: Record<string, string> = { '\\': '\\\\', '"': '\\"', '\n': '\\n', '\r': '\\r', '\t': '\\t', $: '\\$' };

/** `NAME="value"` on one line, escaped so the dotenv parser gives the value back exactly (and no shell expands it). */
export function dotenvLine(name: string, value: string): string {
  return `${name}="${value.replace(/[\\"\n\r\t$]/g, (c) => ESCAPE[c] as string)}"`;
}

/** The lines (first and last, 0-based) each assignment takes: a quoted value may go on over several lines. */
export function assignmentSpans(lines: readonly string[]): { name: string; start: number; end: number }[] {
  const out: { name: string; start: number; end: number }[] = [];
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!m) continue;
    const start = i;
    let rest = m[2] as string;
    const quote = rest[0];
    if (quote === '"' || quote === "'") {
      // As the parser reads it: to the closing quote, backslash escapes inside double quotes, across lines.
      let j = 1;
      for (;;) {
        let closed = false;
        while (j < rest.length) {
          const c = rest[j];
          if (c === quote) {
            closed = true;
            break;
          }
          j += quote === '"' && c === '\\' && j + 1 < rest.length ? 2 : 1;
        }
        if (closed || i + 1 >= lines.length) break;
        rest = lines[++i] ?? '';
        j = 0;
      }
    }
    out.push({ name: m[1] as string, start, end: i });
  }
  return out;
}

/** The text with each `set` name's assignment replaced (or appended) and each `unset` name's removed. */
export function withAssignments(text: string, set: ReadonlyMap<string, string>, unset: readonly string[]): string {
  const lines = text === '' ? [] : text.replace(/\r?\n$/, '').split(/\r?\n/);
  const spans = assignmentSpans(lines);
  const replace = new Map<number, string>();
  const drop = new Set<number>();
  const dropSpan = (s: { start: number; end: number }): void => {
    for (let i = s.start; i <= s.end; i++) drop.add(i);
  };
  const appended: string[] = [];
  for (const [name, value] of set) {
    const mine = spans.filter((s) => s.name === name);
    const first = mine[0];
    if (!first) {
      appended.push(dotenvLine(name, value));
      continue;
    }
    dropSpan(first);
    drop.delete(first.start);
    replace.set(first.start, dotenvLine(name, value));
    for (const s of mine.slice(1)) dropSpan(s);
  }
  for (const name of unset) for (const s of spans.filter((x) => x.name === name)) dropSpan(s);
  const out: string[] = [];
  for (const [i, l] of lines.entries()) {
    if (replace.has(i)) out.push(replace.get(i) as string);
    else if (!drop.has(i)) out.push(l);
  }
  out.push(...appended);
  return out.length === 0 ? '' : `${out.join('\n')}\n`;
}

/** Why a name cannot be a secret (null when it can): the ship's own names are not a service's to set. */
export function secretNameProblem(name: string): string | null {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) return `${JSON.stringify(name)} is not an environment variable name (letters, digits and _, not starting with a digit)`;
  if (name.startsWith('STARPHLEET_')) return `${name}: names beginning with STARPHLEET_ are the ship's (settings and what it sets itself), not a service's secret`;
  if (name === 'PORT') return 'PORT is given by the ship to each instance';
  return null;
}
