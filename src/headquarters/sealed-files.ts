import { createHash } from 'node:crypto';
import { lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { MAX_SEALED_BYTES, parseAgeHeader, stanzaTag } from './age-header.js';
import type { Problem, SealedFile } from './types.js';

/** The name of a sealed env file, at the top of HQ (phleet-wide) or next to an orders file (that service's). */
export const SECRETS_FILE = 'secrets.age';

function dirOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '' : file.slice(0, i);
}

/** One `secrets.age` as HQ holds it: header read, nothing decrypted; what is wrong with it is its `problem`. */
async function readOne(root: string, file: string, mount: string | null): Promise<SealedFile> {
  const base = { file, mount, recipients: [] };
  const fail = (problem: string, bytes = Buffer.alloc(0)): SealedFile => ({ ...base, bytes, sha256: createHash('sha256').update(bytes).digest('hex'), problem });
  let st;
  try {
    st = await lstat(join(root, file));
  } catch (e) {
    return fail(`cannot read: ${(e as Error).message}`);
  }
  if (st.isSymbolicLink()) return fail('symlink in HQ: not followed');
  if (!st.isFile()) return fail('not a plain file');
  if (st.size > MAX_SEALED_BYTES) return fail(`larger than ${MAX_SEALED_BYTES} bytes: not a secrets file`);
  const bytes = await readFile(join(root, file));
  const header = parseAgeHeader(bytes);
  if (!header.ok) return fail(header.message, bytes);
  return {
    ...base,
    bytes,
    sha256: createHash('sha256').update(bytes).digest('hex'),
    recipients: header.stanzas.map((s) => ({ type: s.type, tag: stanzaTag(s) })),
    problem: null,
  };
}

/**
 * The `secrets.age` files the walk found: the top one is phleet-wide; any other belongs to the service whose orders
 * are in its directory (one with no orders beside it is reported: nobody gets it). A malformed file is a problem with
 * its path, and stays in the list with that problem, so the services it applies to do not deploy without it.
 */
export async function readSealedFiles(root: string, files: readonly string[], mounts: ReadonlySet<string>, problems: Problem[]): Promise<SealedFile[]> {
  const out: SealedFile[] = [];
  for (const file of [...files].sort((a, b) => (a === SECRETS_FILE ? -1 : b === SECRETS_FILE ? 1 : a.localeCompare(b)))) {
    const dir = dirOf(file);
    const mount = dir === '' ? null : `/${dir}`;
    const sealed = await readOne(root, file, mount);
    if (sealed.problem !== null) problems.push({ file, message: `${sealed.problem} (the services it applies to keep what they serve)` });
    if (mount !== null && !mounts.has(mount)) problems.push({ file, message: 'no orders next to this secrets.age: no service gets it' });
    out.push(sealed);
  }
  return out;
}
