import { createHash } from 'node:crypto';
import { readAdmirals } from '../headquarters/layout.js';
import type { Problem } from '../headquarters/types.js';
import { readShips } from '../phleet/record.js';

/** Someone a secrets.age file is sealed to: a ship (its ed25519 host key) or an admiral (a key in authorized_keys/). */
export interface Recipient {
  readonly kind: 'ship' | 'admiral';
  /** The ship's name, or the admiral's key file (`authorized_keys/alice.pub`). */
  readonly name: string;
  /** What `age -r` takes: `<type> <base64>`, no options, no comment. */
  readonly key: string;
  /** The tag age writes into the key's stanza: who a file is sealed to, read without decrypting. */
  readonly tag: string;
}

export interface PhleetRecipients {
  readonly recipients: readonly Recipient[];
  /** Ships and admirals that cannot be sealed to, each with its file: they cannot open secrets. */
  readonly problems: readonly Problem[];
}

/** Key types age takes as recipients. */
const AGE_SSH_TYPES = new Set(['ssh-ed25519', 'ssh-rsa']);

/** age's recipient tag of an SSH public key: the first 4 bytes of SHA-256 of its wire form, base64 without padding. */
export function recipientTag(blob: Buffer): string {
  return createHash('sha256').update(blob).digest().subarray(0, 4).toString('base64').replace(/=+$/, '');
}

/** The wire blob of an `ssh-ed25519 <base64>` line whose blob really is an ed25519 key; null otherwise. */
function ed25519Blob(line: string): Buffer | null {
  const m = /^ssh-ed25519 ([A-Za-z0-9+/]+={0,2})$/.exec(line.trim());
  if (!m) return null;
  const blob = Buffer.from(m[1] as string, 'base64');
  // string "ssh-ed25519" (4 + 11 bytes), then string key (4 + 32 bytes).
  if (blob.length !== 51 || blob.readUInt32BE(0) !== 11 || blob.subarray(4, 15).toString('latin1') !== 'ssh-ed25519' || blob.readUInt32BE(15) !== 32) return null;
  return blob;
}

/**
 * Who the secrets of an HQ checkout are sealed to now: every ship in `ships/` (of shipsDir) by the host key its entry carries, and
 * every admiral in `authorized_keys/` whose key age can use. A key limited by `command=` runs one command (a robot's
 * key): it is not given the secrets. Sorted ships first, then admirals, each by name.
 */
export async function currentRecipients(hqDir: string, shipsDir = hqDir): Promise<PhleetRecipients> {
  const recipients: Recipient[] = [];
  const problems: Problem[] = [];
  // ships/ lives in HQ, or (STARPHLEET_WRITEBACK) in a repository of its own: phleet/ships-source.ts finds it.
  const ships = readShips(shipsDir);
  for (const p of ships.problems) problems.push({ file: p.file, message: `${p.message} (so it is not among the recipients of secrets.age)` });
  for (const s of ships.ships) {
    const file = `ships/${s.name}`;
    if (s.hostPublicKey === undefined) {
      problems.push({ file, message: 'has no hostPublicKey (a ship from before secrets): it cannot open secrets.age until it runs a starphleet that writes one' });
      continue;
    }
    const blob = ed25519Blob(s.hostPublicKey);
    if (!blob) {
      problems.push({ file, message: 'hostPublicKey is not an ssh-ed25519 public key: the ship cannot be sealed to' });
      continue;
    }
    recipients.push({ kind: 'ship', name: s.name, key: `ssh-ed25519 ${blob.toString('base64')}`, tag: recipientTag(blob) });
  }
  // The layout reports bad key files itself (hq check prints them once): only what matters here is said again.
  for (const a of await readAdmirals(hqDir, [])) {
    if (a.options.some((o) => o.name === 'command')) continue;
    if (!AGE_SSH_TYPES.has(a.type)) {
      problems.push({ file: a.file, message: `a ${a.type} key cannot open age files (age takes ssh-ed25519 and ssh-rsa keys): this admiral cannot read secrets` });
      continue;
    }
    recipients.push({ kind: 'admiral', name: a.file, key: `${a.type} ${a.blob.toString('base64')}`, tag: recipientTag(a.blob) });
  }
  return { recipients, problems };
}

/** `ship s1`, `admiral authorized_keys/alice.pub`: how a recipient is named in messages. */
export function describeRecipient(r: Recipient): string {
  return `${r.kind} ${r.name}`;
}
