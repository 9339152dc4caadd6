/**
 * Text a service wrote (its output, its process names), made safe to show in a status line, a notification or a
 * terminal: control characters (ANSI escapes, carriage returns, C1 controls) dropped, tabs and newlines as spaces,
 * cut to `max` characters.
 */
export function printable(text: string, max: number): string {
  const clean = text.replace(/[\t\n\r\v\f]/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/g, '');
  return clean.length > max ? `${clean.slice(0, Math.max(0, max - 3))}...` : clean;
}
