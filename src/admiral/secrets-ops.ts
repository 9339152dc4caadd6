import { existsSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import { readSecretEnv } from '../agent/secrets/secret-env.js';
import { dotenvLine, secretNameProblem, withAssignments } from '../secrets/dotenv-text.js';
import type { PhleetRecipients } from '../secrets/recipients.js';
import { editInEditor } from './secrets-edit.js';
import { identityTag, openSealed, readHqSecretsLayout, recipientsOf, sealedFileAt, sealedToAll, sealedToLine, secretsFileOf, writeSealed } from './secrets-files.js';
import { AdmiralError } from './remotes.js';

/** Where `secrets` works: an HQ checkout and the key that opens its files (the admiral's, or a ship's host key). */
export interface SecretsContext {
  readonly hq: string;
  readonly identity: string;
  /** `--ships DIR`: a checkout of the write-back repository (STARPHLEET_WRITEBACK) whose ships/ to seal to. */
  readonly ships?: string;
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** All of stdin (a value given as a bare NAME comes from there). */
  readonly stdin: () => Promise<Buffer>;
}

/** The env of a file's plaintext; a bad line is an error naming the file and line (never the value). */
function envOf(file: string, text: string): Readonly<Record<string, string>> {
  const r = readSecretEnv(Buffer.from(text, 'utf8'));
  if (!r.ok) throw new AdmiralError(`${file}: ${r.message} (fix it with starphleet secrets edit)`);
  return r.env;
}

function sameEnv(a: Readonly<Record<string, string>>, b: Readonly<Record<string, string>>): boolean {
  const ka = Object.keys(a).sort();
  return JSON.stringify(ka) === JSON.stringify(Object.keys(b).sort()) && ka.every((k) => a[k] === b[k]);
}

/** After a write: what to commit, and a word when the admiral's own key is not among those who can read it back. */
function written(ctx: SecretsContext, file: string, what: string, how: 'written' | 'removed', r: PhleetRecipients): void {
  if (how === 'removed') {
    ctx.out(`${file}: ${what}; no names left, so the file is removed: commit it (git rm ${file})\n`);
    return;
  }
  ctx.out(`${file}: ${what}; ${sealedToLine(r)}\ncommit it: git add ${file} && git commit\n`);
  const mine = identityTag(ctx.identity);
  if (mine !== null && !r.recipients.some((x) => x.tag === mine)) ctx.err(`warning: your key ${ctx.identity} is not among the recipients (not in authorized_keys/): you cannot open ${file} again\n`);
}

/** The text after a change, checked to read back as exactly the env wanted (else written afresh, comments dropped). */
function rewrite(ctx: SecretsContext, file: string, before: string, want: Readonly<Record<string, string>>, set: ReadonlyMap<string, string>, unset: readonly string[]): string {
  const text = withAssignments(before, set, unset);
  if (sameEnv(envOf(file, text), want)) return text;
  ctx.err(`warning: ${file}: its lines could not be changed in place: written afresh, without its comments\n`);
  return Object.entries(want).map(([k, v]) => `${dotenvLine(k, v)}\n`).join('');
}

/** `secrets set <service|-> NAME=VALUE... | NAME` (a bare NAME takes its value from stdin, one final newline cut). */
export async function secretsSet(ctx: SecretsContext, which: string, assignments: readonly string[]): Promise<number> {
  if (assignments.length === 0) throw new AdmiralError('secrets set needs NAME=VALUE (or NAME, with the value on stdin)');
  const set = new Map<string, string>();
  let fromStdin = false;
  for (const a of assignments) {
    const eq = a.indexOf('=');
    const name = eq < 0 ? a : a.slice(0, eq);
    const bad = secretNameProblem(name);
    if (bad) throw new AdmiralError(bad);
    if (set.has(name)) throw new AdmiralError(`${name} is given twice`);
    let value: string;
    if (eq >= 0) value = a.slice(eq + 1);
    else {
      if (fromStdin) throw new AdmiralError('only one NAME may take its value from stdin');
      fromStdin = true;
      value = (await ctx.stdin()).toString('utf8').replace(/\n$/, '');
    }
    if (value.includes('\0')) throw new AdmiralError(`${name}: a value cannot hold a NUL byte`);
    set.set(name, value);
  }
  const file = secretsFileOf(readHqSecretsLayout(ctx.hq), which);
  const r = await recipientsOf(ctx.hq, (l) => ctx.err(`${l}\n`), ctx.ships);
  const before = (await openSealed(ctx.hq, file, ctx.identity)) ?? '';
  const want = { ...envOf(file, before), ...Object.fromEntries(set) };
  const how = await writeSealed(ctx.hq, file, rewrite(ctx, file, before, want, set, []), r);
  written(ctx, file, `set ${[...set.keys()].join(', ')}`, how, r);
  return 0;
}

/** `secrets unset <service|-> NAME...`: each name must be there; the last one gone removes the file. */
export async function secretsUnset(ctx: SecretsContext, which: string, names: readonly string[]): Promise<number> {
  if (names.length === 0) throw new AdmiralError('secrets unset needs at least one NAME');
  const file = secretsFileOf(readHqSecretsLayout(ctx.hq), which);
  const r = await recipientsOf(ctx.hq, (l) => ctx.err(`${l}\n`), ctx.ships);
  const before = await openSealed(ctx.hq, file, ctx.identity);
  if (before === null) throw new AdmiralError(`${file} does not exist: nothing to unset`);
  const want: Record<string, string> = { ...envOf(file, before) };
  for (const n of names) {
    if (!Object.hasOwn(want, n)) throw new AdmiralError(`${file} has no ${n}: nothing changed`);
    delete want[n];
  }
  const text = rewrite(ctx, file, before, want, new Map(), names);
  const how = await writeSealed(ctx.hq, file, Object.keys(want).length === 0 ? null : text, r);
  written(ctx, file, `unset ${names.join(', ')}`, how, r);
  return 0;
}

/** `secrets list [<service|->]`: names only, one per line (every file, each under its path, when none is named). */
export async function secretsList(ctx: SecretsContext, which: string | undefined): Promise<number> {
  const layout = readHqSecretsLayout(ctx.hq);
  const files = which === undefined ? layout.files : [secretsFileOf(layout, which)];
  let failed = 0;
  for (const file of files) {
    let text: string | null;
    try {
      text = await openSealed(ctx.hq, file, ctx.identity);
    } catch (e) {
      if (!(e instanceof AdmiralError) || which !== undefined) throw e;
      ctx.err(`${e.message}\n`);
      failed++;
      continue;
    }
    if (text === null) {
      ctx.err(`${file} does not exist: no secrets there\n`);
      continue;
    }
    const names = Object.keys(envOf(file, text));
    if (which !== undefined) ctx.out(names.map((n) => `${n}\n`).join(''));
    else ctx.out(`${file}\n${names.map((n) => `  ${n}\n`).join('')}`);
  }
  return failed > 0 ? 1 : 0;
}

/** `secrets edit <service|->`: the plaintext in $EDITOR (0600 temp file, removed after); sealed again when it changed. */
export async function secretsEdit(ctx: SecretsContext, which: string): Promise<number> {
  const file = secretsFileOf(readHqSecretsLayout(ctx.hq), which);
  const r = await recipientsOf(ctx.hq, (l) => ctx.err(`${l}\n`), ctx.ships);
  const before = await openSealed(ctx.hq, file, ctx.identity);
  const start = before ?? `# ${file}: dotenv lines, NAME=value or NAME="value with \\n escapes"; sealed when you save and quit\n`;
  const after = await editInEditor(start);
  if (after === start) {
    ctx.out(`${file}: no change\n`);
    return 0;
  }
  const env = envOf(file, after);
  const how = await writeSealed(ctx.hq, file, Object.keys(env).length === 0 ? null : after, r);
  written(ctx, file, `edited (${Object.keys(env).length} names)`, how, r);
  return 0;
}

/** `secrets reseal [<service|->]`: every file (or one) sealed again to the current ships and admirals, when it is not. */
export async function secretsReseal(ctx: SecretsContext, which: string | undefined): Promise<number> {
  const layout = readHqSecretsLayout(ctx.hq);
  const files = which === undefined ? layout.files : [secretsFileOf(layout, which)];
  const r = await recipientsOf(ctx.hq, (l) => ctx.err(`${l}\n`), ctx.ships);
  if (files.length === 0) ctx.out('no secrets.age in this HQ checkout: nothing to reseal\n');
  let failed = 0;
  let changed = 0;
  for (const file of files) {
    try {
      if (!existsSync(join(ctx.hq, file))) throw new AdmiralError(`${file} does not exist`);
      if (!lstatSync(join(ctx.hq, file)).isFile()) throw new AdmiralError(`${file}: not a plain file (a symlink?): not read`);
      if (sealedToAll(sealedFileAt(ctx.hq, file), r)) {
        ctx.out(`${file}: already sealed to every current ship and admiral\n`);
        continue;
      }
      const text = (await openSealed(ctx.hq, file, ctx.identity)) as string;
      envOf(file, text);
      await writeSealed(ctx.hq, file, text, r);
      ctx.out(`${file}: resealed, ${sealedToLine(r)}\n`);
      changed++;
    } catch (e) {
      if (!(e instanceof AdmiralError)) throw e;
      ctx.err(`${e.message}\n`);
      failed++;
    }
  }
  if (changed > 0) ctx.out(`commit it: git add ${files.join(' ')} && git commit\n`);
  return failed > 0 ? 1 : 0;
}
