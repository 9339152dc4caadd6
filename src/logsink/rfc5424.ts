/**
 * RFC 5424 syslog messages and RFC 6587 octet-counted framing. The SD-ID uses 32473, the private enterprise number
 * RFC 5612 reserves for documentation and examples: starphleet has no number of its own.
 */
export const SD_ID = 'starphleet@32473';

export interface SyslogLine {
  readonly ship: string;
  readonly service: string;
  /** The release id, or `-` when the file names none. */
  readonly release: string;
  /** The process place (web.1, worker.1, cron) or `build`. */
  readonly process: string;
  /** instance | build | other names of the log file's kind. */
  readonly kind: string;
  /** The log file's name: with seq, the key a receiver de-duplicates by. */
  readonly file: string;
  /** The line's number in its file (counted across rotations), 1 for the first. */
  readonly seq: number;
  readonly text: string;
  readonly at: Date;
}

/** user-level facility (1), informational (6): the ship cannot tell stdout from stderr in an instance log. */
const PRI = 1 * 8 + 6;
/** rsyslog's default maxMessageSize is 8 KiB; a longer line is cut there (marked with ...). */
export const MAX_MESSAGE_BYTES = 8000;

/** PRINTUSASCII without space, at most max characters (RFC 5424 header fields); `-` when empty. */
function header(v: string, max: number): string {
  const s = v.replace(/[^\x21-\x7e]/g, '_').slice(0, max);
  return s === '' ? '-' : s;
}

/** A PARAM-VALUE: `"`, `\` and `]` escaped with a backslash. */
function param(v: string): string {
  return v.replace(/[\\"\]]/g, (c) => `\\${c}`);
}

export function formatMessage(l: SyslogLine): string {
  const sd = `[${SD_ID} ship="${param(l.ship)}" service="${param(l.service)}" release="${param(l.release)}" process="${param(l.process)}" kind="${param(l.kind)}" file="${param(l.file)}" seq="${l.seq}"]`;
  const head = `<${PRI}>1 ${l.at.toISOString()} ${header(l.ship, 255)} ${header(l.service, 48)} ${header(l.process, 128)} ${header(l.kind, 32)} ${sd} `;
  // Control characters other than tab would confuse receivers that split on them.
  let msg = l.text.replace(/[\x00-\x08\x0a-\x1f\x7f]/g, ' ');
  const room = MAX_MESSAGE_BYTES - Buffer.byteLength(head);
  if (Buffer.byteLength(msg) > room) msg = `${Buffer.from(msg).subarray(0, Math.max(0, room - 3)).toString('utf8').replace(/\uFFFD$/, '')}...`;
  return head + msg;
}

/** RFC 6587 octet counting: `<length> <message>`, the length in bytes. */
export function octetFrame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `), body]);
}
