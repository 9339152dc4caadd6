import { StringDecoder } from 'node:string_decoder';

/**
 * Text that came from a service or another ship, made safe to show on an admiral's terminal: every control
 * character is shown as text instead of acted on (as `cat -v` shows them: ESC is `^[`, BEL `^G`, DEL `^?`, the C1
 * controls `M-^[`...), so output can neither set the terminal's title, write its clipboard (OSC 52), move the cursor,
 * erase lines nor print fake ones over real ones. Newline and tab stay; a carriage return only right before a newline
 * (CRLF endings), since alone it rewrites the line. Bidirectional overrides, which reorder what the eye reads, are
 * shown as <U+202E>. Idempotent: what comes out has nothing left to change, so text made safe twice (by the ship,
 * then by the admiral's CLI) reads the same.
 */
/** The characters no text from a service may act with: C0 controls but tab, newline and CR; DEL; C1; bidi overrides. */
const CONTROLS = '\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f\\u0080-\\u009f\\u202a-\\u202e\\u2066-\\u2069';
const UNSAFE = new RegExp(`[${CONTROLS}]|\\r(?!\\n)`, 'g');
const CONTROL = new RegExp(`[${CONTROLS}]`, 'g');

function shown(c: string): string {
  const n = c.charCodeAt(0);
  if (n < 0x20) return `^${String.fromCharCode(n + 0x40)}`;
  if (n === 0x7f) return '^?';
  if (n >= 0x80 && n <= 0x9f) return `M-^${String.fromCharCode(n - 0x80 + 0x40)}`;
  return `<U+${n.toString(16).toUpperCase().padStart(4, '0')}>`;
}

export function visible(text: string): string {
  return text.replace(UNSAFE, shown);
}

/** visible() over a byte stream: UTF-8 characters split between chunks are joined first. */
export function visibleStream(): { write(chunk: Buffer): string; end(): string } {
  const decoder = new StringDecoder('utf8');
  return { write: (chunk) => visible(decoder.write(chunk)), end: () => visible(decoder.end()) };
}

/**
 * The one-line form, for a status line, a notification or a build failure's quote: whitespace controls become spaces,
 * the other controls are dropped (not shown: a one-line summary has no room for `^[[31m`), cut to `max` characters.
 */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[\t\n\r\v\f]/g, ' ').replace(CONTROL, '');
  return clean.length > max ? `${clean.slice(0, Math.max(0, max - 3))}...` : clean;
}
