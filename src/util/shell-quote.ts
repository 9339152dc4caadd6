/** One word for sh/bash: the whole of it in '...', each `'` written as `'\''`. Safe for any string, NUL aside. */
export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
