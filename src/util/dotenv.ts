/** A problem in a `.env` file, with the 1-based line it is on. */
export interface DotenvProblem {
  readonly line: number;
  readonly message: string;
}

export interface Dotenv {
  readonly env: Record<string, string>;
  readonly problems: DotenvProblem[];
}

const KEY = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ESCAPES: Record<string, string> = { n: '\n', r: '\r', t: '\t', '"': '"', '\\': '\\', $: '$' };

/**
 * Parses a service repo's `.env` as data, never as a program: `KEY=value` or `export KEY=value` lines, `#` comments,
 * 'single quotes' taken literally, "double quotes" with \n \t \" \\ escapes (both may span lines), unquoted values
 * trimmed and cut at ` #`. Nothing is expanded or executed. A bad line is skipped and reported; the rest still counts.
 */
export function parseDotenv(text: string): Dotenv {
  const env: Record<string, string> = {};
  const problems: DotenvProblem[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    const line = (lines[i] ?? '').trim();
    if (line === '' || line.startsWith('#')) continue;
    const m = /^(?:export\s+)?([^=\s]+)\s*=\s*(.*)$/.exec(line);
    if (!m) {
      problems.push({ line: lineNo, message: `expected KEY=value, got ${JSON.stringify(line.slice(0, 80))}` });
      continue;
    }
    const key = m[1] as string;
    let rest = m[2] as string;
    if (!KEY.test(key)) {
      problems.push({ line: lineNo, message: `bad variable name ${JSON.stringify(key)} (letters, digits and _, not starting with a digit)` });
      continue;
    }
    const quote = rest[0];
    if (quote !== '"' && quote !== "'") {
      env[key] = rest.replace(/\s+#.*$/, '').trim();
      continue;
    }
    // Quoted: collect lines until the closing quote, then only a comment may follow it.
    let value = '';
    let j = 1;
    let closed = false;
    for (;;) {
      while (j < rest.length) {
        const c = rest[j] as string;
        if (c === quote) {
          closed = true;
          break;
        }
        if (quote === '"' && c === '\\' && j + 1 < rest.length) {
          const next = rest[j + 1] as string;
          value += ESCAPES[next] ?? `\\${next}`;
          j += 2;
          continue;
        }
        value += c;
        j++;
      }
      if (closed || i + 1 >= lines.length) break;
      value += '\n';
      rest = lines[++i] ?? '';
      j = 0;
    }
    if (!closed) {
      problems.push({ line: lineNo, message: `${key}: no closing ${quote} before the end of the file` });
      break;
    }
    const after = rest.slice(j + 1).trim();
    if (after !== '' && !after.startsWith('#')) {
      problems.push({ line: lineNo, message: `${key}: unexpected text after the closing quote: ${JSON.stringify(after.slice(0, 40))}` });
      continue;
    }
    env[key] = value;
  }
  return { env, problems };
}
