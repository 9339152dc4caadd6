/** A legacy scp server command line (`scp [-r] [-p] [-d] [-v] -f|-t [--] path...`), parsed. */
export type ScpCommand =
  | { readonly kind: 'download'; readonly recursive: boolean; readonly preserve: boolean; readonly paths: readonly string[] }
  | { readonly kind: 'upload'; readonly target: string }
  | { readonly kind: 'bad'; readonly error: string };

/** Outside quotes, what a shell would expand or act on (a strict split gives up on these). */
const SHELL_SPECIAL = new Set(['$', '`', ';', '&', '|', '<', '>', '(', ')', '*', '?', '[', '{', '}', '\n']);

/**
 * Splits a command line into words the way a POSIX shell would ('...', "...", backslash), without globbing or any
 * expansion: the remote shell's job that `scp -O` relies on, done here without a shell. Null on an open quote, and
 * with `strict`, null too wherever the shell would do more than split words (an unquoted $ ` ; & | < > ( ) * ? [ { }
 * or newline, a word starting with ~ or #, $ or ` inside double quotes): such a line is left to a real shell.
 */
export function shellWords(line: string, o: { readonly strict?: boolean } = {}): string[] | null {
  const words: string[] = [];
  let word: string | null = null;
  let quote: "'" | '"' | null = null;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = null;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = null;
      else if (c === '\\' && line[i + 1] === '\n') i++;
      else if (c === '\\' && i + 1 < line.length && '"\\$`'.includes(line[i + 1] as string)) word += line[++i];
      else if (o.strict && (c === '$' || c === '`')) return null;
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      word ??= '';
    } else if (c === '\\' && line[i + 1] === '\n') {
      i++;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (o.strict && (SHELL_SPECIAL.has(c) || (word === null && (c === '~' || c === '#')))) {
      return null;
    } else if (/\s/.test(c)) {
      if (word !== null) words.push(word);
      word = null;
    } else word = (word ?? '') + c;
  }
  if (quote !== null) return null;
  if (word !== null) words.push(word);
  return words;
}

const FLAGS = /^-[rpdvfqt]+$/;

export function parseScpCommand(line: string): ScpCommand {
  const words = shellWords(line);
  if (words === null) return { kind: 'bad', error: 'unterminated quote in the scp command' };
  const [program, ...rest] = words;
  if (program !== 'scp' && !/\/scp$/.test(program ?? '')) return { kind: 'bad', error: `not an scp command: ${line}` };
  let from = false;
  let to = false;
  let recursive = false;
  let preserve = false;
  let i = 0;
  for (; i < rest.length; i++) {
    const w = rest[i] as string;
    if (w === '--') {
      i++;
      break;
    }
    if (!w.startsWith('-')) break;
    if (!FLAGS.test(w)) return { kind: 'bad', error: `unsupported scp option ${w}` };
    from ||= w.includes('f');
    to ||= w.includes('t');
    recursive ||= w.includes('r');
    preserve ||= w.includes('p');
  }
  const paths = rest.slice(i);
  if (to) return { kind: 'upload', target: paths.join(' ') || '.' };
  if (!from) return { kind: 'bad', error: 'scp: neither -f nor -t given' };
  if (paths.length === 0) return { kind: 'bad', error: 'scp -f: no file named' };
  return { kind: 'download', recursive, preserve, paths };
}
