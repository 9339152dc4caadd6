/**
 * Quoting for the POSIX shell grammar (sh, bash, dash, and the ship's SSH exec line, which the same rules split).
 * One function a use: a word that must stay one word (always quoted), and a command line for people to read.
 */

/** One word for sh/bash: the whole of it in '...', each `'` written as `'\''`. Safe for any string, NUL aside. */
export function posixShellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Characters no POSIX shell gives a meaning to inside a word (no glob, tilde, brace, expansion or separator). */
const PLAIN = /^[A-Za-z0-9_./:=@%+,-]+$/;
/** `NAME=...` as the first word is an assignment, not a command: such a word is quoted wherever it stands. */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;

/**
 * The words as one POSIX command line that runs them as given, plain words left bare so people read it (the ship's
 * audit shows `starphleet status`, not `'starphleet' 'status'`); any other word is posixShellQuote-d.
 */
export function posixCommandLine(words: readonly string[]): string {
  return words.map((w) => (PLAIN.test(w) && !ASSIGNMENT.test(w) && !w.startsWith('=') ? w : posixShellQuote(w))).join(' ');
}
