import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { parseFromPatterns } from './from-pattern.js';
import type { Admiral, KeyOption, Problem } from './types.js';

/** Key types an admiral may use: what ssh2 can verify. */
const KEY_TYPES = new Set(['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa']);

/**
 * The options the SSH gate (src/server/access/gate.ts) applies. The forwarding and rc options are known but change
 * nothing: the ship forwards nothing for anyone and runs no rc files. Any other OpenSSH option (environment=,
 * permitopen=, expiry-time=, cert-authority, ...) would be a promise the ship does not keep: such a key is an HQ
 * problem and admits nothing.
 */
const INERT_OPTIONS = new Set([
  'no-port-forwarding', 'no-agent-forwarding', 'no-x11-forwarding', 'no-user-rc',
  'port-forwarding', 'agent-forwarding', 'x11-forwarding', 'user-rc',
]);
const FLAG_OPTIONS = new Set(['restrict', 'no-pty', 'pty', ...INERT_OPTIONS]);
const VALUE_OPTIONS = new Set(['command', 'from']);
const NOT_APPLIED = 'is not an option this ship applies, so the key is not admitted';

/** `SHA256:` + unpadded base64 of the blob's sha256, as `ssh-keygen -lf` prints it. */
export function fingerprint(blob: Buffer): string {
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

/** Splits the options field as sshd does: commas outside double quotes, `\"` escapes a quote inside. */
function parseOptions(text: string): KeyOption[] | string {
  const options: KeyOption[] = [];
  let i = 0;
  while (i < text.length) {
    const m = /^[A-Za-z0-9-]+/.exec(text.slice(i));
    if (!m) return `bad option syntax at ${JSON.stringify(text.slice(i, i + 20))}`;
    const name = m[0].toLowerCase();
    i += m[0].length;
    if (text[i] === '=') {
      if (text[i + 1] !== '"') return `option ${name} needs a double-quoted value`;
      i += 2;
      let value = '';
      while (i < text.length && text[i] !== '"') {
        if (text[i] === '\\' && text[i + 1] === '"') {
          value += '"';
          i += 2;
        } else value += text[i++];
      }
      if (text[i] !== '"') return `option ${name}: missing closing quote`;
      i++;
      if (!VALUE_OPTIONS.has(name)) return `option ${name} ${NOT_APPLIED}`;
      if (options.some((o) => o.name === name)) return `option ${name} given twice`;
      options.push({ name: name as 'command' | 'from', value });
    } else {
      if (VALUE_OPTIONS.has(name)) return `option ${name} needs a value`;
      if (!FLAG_OPTIONS.has(name)) return `option ${name} ${NOT_APPLIED}`;
      options.push({ name });
    }
    if (i < text.length) {
      if (text[i] !== ',') return `expected ',' after option ${name}`;
      i++;
    }
  }
  return options;
}

/** Finds where the options end: the first unquoted white space. */
function splitOptions(line: string): [string, string] {
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (!quoted && (c === ' ' || c === '\t')) return [line.slice(0, i), line.slice(i).trimStart()];
  }
  return [line, ''];
}

/** What a key file may hold, for the messages about one that does not. */
const ACCEPTED =
  'one OpenSSH public key line, `[options] <type> <base64> [comment]` as in ~/.ssh/id_ed25519.pub, with type ssh-ed25519, ecdsa-sha2-nistp256, ecdsa-sha2-nistp384, ecdsa-sha2-nistp521 or ssh-rsa';

/** Parses one authorized_keys line: `[options] type base64 [comment]`. */
export function parseKeyLine(line: string): Omit<Admiral, 'file'> | string {
  let optionsText = '';
  let rest = line.trim();
  if (/PRIVATE KEY/.test(rest)) return `a private key, not a public one: put the .pub file here instead (${ACCEPTED})`;
  const words = rest.split(/\s+/);
  // No key type among the words at all: this is not a key line (garbage, a fingerprint, a PEM file), whatever else.
  if (!words.some((w) => KEY_TYPES.has(w) || /^(ssh|ecdsa|sk)-[a-z0-9@.-]+$/.test(w))) return `not an OpenSSH public key line (expected ${ACCEPTED})`;
  if (!KEY_TYPES.has(words[0] ?? '')) {
    [optionsText, rest] = splitOptions(rest);
    if (rest === '') return `not an OpenSSH public key line (expected ${ACCEPTED})`;
  }
  const [type = '', b64 = '', ...commentParts] = rest.split(/\s+/);
  if (!KEY_TYPES.has(type)) return `unsupported key type ${JSON.stringify(type.slice(0, 40))} (expected ${ACCEPTED})`;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(b64)) return 'key data is not base64';
  const raw = Buffer.from(b64, 'base64');
  const inner = raw.length >= 4 ? raw.subarray(4, 4 + raw.readUInt32BE(0)).toString('latin1') : '';
  if (inner !== type) return `key data is a ${JSON.stringify(inner.slice(0, 40))} key, but the line says ${type}`;
  const parsed = ssh2.utils.parseKey(`${type} ${b64}`);
  if (parsed instanceof Error) return `malformed ${type} key: ${parsed.message}`;
  const options = optionsText ? parseOptions(optionsText) : [];
  if (typeof options === 'string') return options;
  for (const o of options) {
    if (o.name !== 'from' || o.value === undefined) continue;
    const f = parseFromPatterns(o.value);
    if ('error' in f) return `from=: ${f.error}`;
  }
  const blob = parsed.getPublicSSH();
  return { type, blob, fingerprint: fingerprint(blob), comment: commentParts.join(' '), options };
}

/** One key per file; blank lines and `#` comments are allowed around it. A bad file yields no key at all (fail closed). */
export function parseAuthorizedKeyFile(text: string, file: string): { admiral: Admiral | null; problems: Problem[] } {
  const keyLines = text
    .split('\n')
    .map((l, i) => ({ l: l.replace(/\r$/, ''), line: i + 1 }))
    .filter(({ l }) => l.trim() !== '' && !l.trim().startsWith('#'));
  if (keyLines.length === 0) return { admiral: null, problems: [{ file, message: `no public key in file (expected ${ACCEPTED})` }] };
  const pem = keyLines.find(({ l }) => /PRIVATE KEY/.test(l));
  if (pem) return { admiral: null, problems: [{ file, line: pem.line, message: `a private key, not a public one: put the .pub file here instead (${ACCEPTED})` }] };
  if (keyLines.length > 1) {
    return { admiral: null, problems: [{ file, line: keyLines[1]?.line as number, message: 'more than one key: put one public key per file' }] };
  }
  const { l, line } = keyLines[0] as { l: string; line: number };
  const r = parseKeyLine(l);
  if (typeof r === 'string') return { admiral: null, problems: [{ file, line, message: r }] };
  return { admiral: { file, ...r }, problems: [] };
}

/**
 * The same public key in two files is a problem named with both files. The key stays in force (an admiral is not
 * locked out by a copy), but the gate allows a request only if every file's options do, and two different
 * command= values admit nothing for that key.
 */
export function duplicateKeyProblems(admirals: readonly Admiral[]): Problem[] {
  const first = new Map<string, string>();
  const problems: Problem[] = [];
  for (const a of admirals) {
    const k = a.blob.toString('base64');
    const other = first.get(k);
    if (other === undefined) first.set(k, a.file);
    else problems.push({ file: a.file, message: `the same key (${a.fingerprint}) is also in ${other}: a request must be allowed by the options of both files` });
  }
  return problems;
}
