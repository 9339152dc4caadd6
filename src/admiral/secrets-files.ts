import { existsSync, lstatSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { writeFileAtomic } from '../util/atomic-write.js';
import { serviceName } from '../headquarters/layout.js';
import { parseAgeHeader, stanzaTag, MAX_SEALED_BYTES } from '../headquarters/age-header.js';
import { SECRETS_FILE } from '../headquarters/sealed-files.js';
import type { SealedFile } from '../headquarters/types.js';
import { AgeError, openWith, sealTo } from '../secrets/age-tool.js';
import { coverageOf } from '../secrets/coverage.js';
import { shipsSource } from '../phleet/ships-source.js';
import { currentRecipients, describeRecipient, recipientTag, type PhleetRecipients } from '../secrets/recipients.js';
import { AdmiralError } from './remotes.js';

/** Top-level HQ entries that are never service directories (as the layout reads HQ). */
const RESERVED_TOP = new Set(['authorized_keys', 'containers', 'shipscripts', 'ships', 'jobs', 'ssl']);
const MAX_ENTRIES = 20_000;

/** What an HQ checkout holds for `secrets`: its services' directories by name, and every secrets.age in it. */
export interface HqSecretsLayout {
  /** Service name (`web`, `a.b`) -> directory relative to HQ (`web`, `a/b`); `root` -> ''. */
  readonly services: ReadonlyMap<string, string>;
  /** Every `secrets.age` (relative paths; the phleet-wide one first). */
  readonly files: readonly string[];
}

/** Walks an HQ checkout as the layout does (no symlinks, no dot entries, not the reserved top entries). */
export function readHqSecretsLayout(hq: string): HqSecretsLayout {
  if (!existsSync(hq) || !lstatSync(hq).isDirectory()) throw new AdmiralError(`${hq} is not a directory (an HQ checkout: --hq DIR, default the current directory)`);
  const services = new Map<string, string>();
  const files: string[] = [];
  let count = 0;
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(hq, rel), { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      if (++count > MAX_ENTRIES || e.name.startsWith('.') || (rel === '' && RESERVED_TOP.has(e.name))) continue;
      const path = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) walk(path);
      else if (e.name === 'orders' && e.isFile()) services.set(serviceName(rel ? `/${rel}` : '/'), rel);
      else if (e.name === SECRETS_FILE) files.push(path);
    }
  };
  walk('');
  files.sort((a, b) => (a === SECRETS_FILE ? -1 : b === SECRETS_FILE ? 1 : a.localeCompare(b)));
  return { services, files };
}

/** `-` -> the phleet-wide `secrets.age`; a service name (`web`, `a.b`) or mount (`/a/b`) -> `<its dir>/secrets.age`. */
export function secretsFileOf(layout: HqSecretsLayout, which: string): string {
  if (which === '-') return SECRETS_FILE;
  const name = which.startsWith('/') ? serviceName(which.replace(/\/+$/, '') || '/') : which;
  if (name === 'root') {
    throw new AdmiralError("the root service's directory is HQ's top, where secrets.age is the phleet-wide file: use - (every service gets it)");
  }
  const dir = layout.services.get(name);
  if (dir === undefined) {
    const known = [...layout.services.keys()].filter((n) => n !== 'root');
    throw new AdmiralError(`no service ${which} in this HQ checkout (no orders file for it)${known.length ? `; services: ${known.join(', ')}` : ''}; - is the phleet-wide file`);
  }
  return `${dir}/${SECRETS_FILE}`;
}

/** A sealed file of the checkout as the layout would read it (its header: who it is sealed to). */
export function sealedFileAt(hq: string, file: string): SealedFile {
  const bytes = readFileSync(join(hq, file));
  const h = bytes.length > MAX_SEALED_BYTES ? { ok: false as const, message: 'too large' } : parseAgeHeader(bytes);
  return { file, mount: null, bytes, sha256: '', recipients: h.ok ? h.stanzas.map((s) => ({ type: s.type, tag: stanzaTag(s) })) : [], problem: h.ok ? null : h.message };
}

/**
 * The recipients of the checkout, refusing when there is nobody to seal to. Ships come from ships/ where they write
 * it: HQ, `--ships DIR`, or the STARPHLEET_WRITEBACK repository named in HQ .starphleet (phleet/ships-source.ts).
 */
export async function recipientsOf(hq: string, warn: (line: string) => void, ships?: string): Promise<PhleetRecipients> {
  let source;
  try {
    source = await shipsSource(hq, ships !== undefined ? { ships } : {});
  } catch (e) {
    throw new AdmiralError((e as Error).message);
  }
  let r: PhleetRecipients;
  try {
    r = await currentRecipients(hq, source.dir);
  } finally {
    await source.cleanup();
  }
  if (source.from !== 'HQ') warn(`ships from ${source.from}`);
  for (const p of r.problems) warn(`warning: ${p.file}: ${p.message}`);
  if (r.recipients.length === 0) throw new AdmiralError(`${hq}: nobody to seal to: no ships/ entry with a hostPublicKey and no admiral key age can use in authorized_keys/`);
  return r;
}

/** The plaintext of a sealed file of the checkout, opened with the admiral's key; null when there is no such file. */
export async function openSealed(hq: string, file: string, identity: string): Promise<string | null> {
  const path = join(hq, file);
  if (!existsSync(path)) return null;
  const st = lstatSync(path);
  if (!st.isFile()) throw new AdmiralError(`${file}: not a plain file (a symlink?): not read`);
  const sealed = sealedFileAt(hq, file);
  if (sealed.problem !== null) throw new AdmiralError(`${file}: ${sealed.problem}`);
  if (!existsSync(identity)) throw new AdmiralError(`${identity}: no such key (give the admiral's private key with -i)`);
  try {
    return (await openWith(sealed.bytes, identity)).toString('utf8');
  } catch (e) {
    if (!(e instanceof AgeError)) throw e;
    const hint = /no identity matched/.test(e.message) ? ` (is this key in authorized_keys/? an admiral who can open it runs \`starphleet secrets reseal\`)` : '';
    throw new AdmiralError(`${file}: cannot open it with ${identity}: ${e.message}${hint}`);
  }
}

/** Seals the text to the recipients and writes the file (write, then rename: never half a file), or removes it. */
export async function writeSealed(hq: string, file: string, text: string | null, r: PhleetRecipients): Promise<'written' | 'removed'> {
  if (text === null) {
    rmSync(join(hq, file), { force: true });
    return 'removed';
  }
  let sealed: Buffer;
  try {
    sealed = await sealTo(Buffer.from(text, 'utf8'), r.recipients.map((x) => x.key));
  } catch (e) {
    throw new AdmiralError(`${file}: cannot seal it: ${(e as Error).message}`);
  }
  await writeFileAtomic(join(hq, file), sealed, 0o644);
  return 'written';
}

/** `sealed to ship s1, admiral authorized_keys/a.pub` for the report. */
export function sealedToLine(r: PhleetRecipients): string {
  return `sealed to ${r.recipients.map(describeRecipient).join(', ')}`;
}

/** Whether a file is sealed to exactly the current recipients (by its header's tags): a reseal would change nothing. */
export function sealedToAll(file: SealedFile, r: PhleetRecipients): boolean {
  const c = coverageOf(file, r.recipients);
  return c.missing.length === 0 && c.extra === 0;
}

/** The tag of the admiral's own key (from `<identity>.pub`, or the private key when it is not passphrase-protected). */
export function identityTag(identity: string): string | null {
  try {
    const pub = `${identity}.pub`;
    const parsed = ssh2.utils.parseKey(existsSync(pub) ? readFileSync(pub) : readFileSync(identity));
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    return !key || key instanceof Error ? null : recipientTag(key.getPublicSSH());
  } catch {
    return null;
  }
}
