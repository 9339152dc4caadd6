/**
 * Reads the header of an age file (age-encryption.org/v1, binary or ASCII-armored) without decrypting it: which
 * recipient stanzas it has. For `ssh-ed25519` and `ssh-rsa` stanzas the first argument is a tag of the recipient's
 * public key (the first 4 bytes of the SHA-256 of its SSH wire form, base64 without padding), so who a file is sealed
 * to is known without any private key. The bytes come from HQ: anything may be in them, so every part is bounded.
 */

/** A recipient stanza: `-> <type> <args...>`; its body is not kept. */
export interface AgeStanza {
  readonly type: string;
  readonly args: readonly string[];
}

export type AgeHeader = { readonly ok: true; readonly armored: boolean; readonly stanzas: readonly AgeStanza[] } | { readonly ok: false; readonly message: string };

/** A secrets file is a few KiB of env lines: anything larger is refused before it is read. */
export const MAX_SEALED_BYTES = 256 * 1024;
const VERSION_LINE = 'age-encryption.org/v1';
const ARMOR_BEGIN = '-----BEGIN AGE ENCRYPTED FILE-----';
const ARMOR_END = '-----END AGE ENCRYPTED FILE-----';
const MAX_STANZAS = 256;
const MAX_LINE = 2048;
/** A stanza argument: printable ASCII without spaces (the age spec's VCHAR). */
const ARG = /^[\x21-\x7e]+$/;
const B64_RAW = /^[A-Za-z0-9+/]*$/;
/** Payload: a 16-byte nonce and at least one sealed chunk (a 16-byte tag even for an empty plaintext). */
const MIN_PAYLOAD = 32;

/** The binary age file an armored one holds, or why it is not one. */
function dearmor(text: string): Buffer | string {
  const lines = text.trim().split(/\r?\n/);
  if (lines[0] !== ARMOR_BEGIN) return 'not an age file';
  if (lines[lines.length - 1] !== ARMOR_END) return `armored age file without its ${ARMOR_END} line`;
  const body = lines.slice(1, -1);
  for (const [i, l] of body.entries()) {
    // age writes 64 columns; the last line may be shorter. Padding only at the very end.
    if (l.length > 64 || (i < body.length - 1 && l.length !== 64) || !/^[A-Za-z0-9+/]*={0,2}$/.test(l) || (i < body.length - 1 && l.includes('='))) {
      return `armored age file: line ${i + 2} is not base64 in 64 columns`;
    }
  }
  return Buffer.from(body.join(''), 'base64');
}

/** Parses the header of an age file's bytes: its stanzas, or a message saying what is wrong (for `file: message`). */
export function parseAgeHeader(bytes: Buffer): AgeHeader {
  if (bytes.length > MAX_SEALED_BYTES) return { ok: false, message: `larger than ${MAX_SEALED_BYTES} bytes: not a secrets file` };
  let data = bytes;
  let armored = false;
  const head = bytes.subarray(0, 64).toString('latin1').trimStart();
  if (head.startsWith('-----BEGIN')) {
    const d = dearmor(bytes.toString('latin1'));
    if (typeof d === 'string') return { ok: false, message: d };
    data = d;
    armored = true;
  }
  let pos = 0;
  const line = (): string | null => {
    const end = data.indexOf(0x0a, pos);
    if (end < 0 || end - pos > MAX_LINE) return null;
    const l = data.subarray(pos, end).toString('latin1');
    pos = end + 1;
    return l;
  };
  const first = line();
  if (first !== VERSION_LINE) return { ok: false, message: `not an age file (the first line is not ${VERSION_LINE}; age -a writes an armored one, plain age a binary one)` };
  const stanzas: AgeStanza[] = [];
  for (let n = 2; ; n++) {
    const l = line();
    if (l === null) return { ok: false, message: 'age header ends without its --- line' };
    if (l.startsWith('--- ')) {
      if (!/^--- [A-Za-z0-9+/]{43}$/.test(l)) return { ok: false, message: `age header line ${n}: malformed --- line` };
      break;
    }
    if (!l.startsWith('-> ')) return { ok: false, message: `age header line ${n}: expected a "-> " stanza or the "---" line` };
    const words = l.slice(3).split(' ');
    if (words.length === 0 || !words.every((w) => ARG.test(w))) return { ok: false, message: `age header line ${n}: malformed stanza` };
    if (stanzas.length >= MAX_STANZAS) return { ok: false, message: `more than ${MAX_STANZAS} recipient stanzas` };
    stanzas.push({ type: words[0] as string, args: words.slice(1) });
    // The body: base64 lines of 64 columns, ended by a shorter (possibly empty) one.
    for (;;) {
      const b = line();
      n++;
      if (b === null || b.length > 64 || !B64_RAW.test(b)) return { ok: false, message: `age header line ${n}: malformed stanza body` };
      if (b.length < 64) break;
    }
  }
  if (stanzas.length === 0) return { ok: false, message: 'age header has no recipient' };
  if (data.length - pos < MIN_PAYLOAD) return { ok: false, message: 'age file has no ciphertext after its header (cut short?)' };
  return { ok: true, armored, stanzas };
}

/** The recipient tag of an `ssh-ed25519` or `ssh-rsa` stanza (its first argument); null for other stanza types. */
export function stanzaTag(s: AgeStanza): string | null {
  return (s.type === 'ssh-ed25519' || s.type === 'ssh-rsa') && s.args[0] !== undefined ? s.args[0] : null;
}
