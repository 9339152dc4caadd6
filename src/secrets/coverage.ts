import type { Problem, SealedFile } from '../headquarters/types.js';
import { describeRecipient, type PhleetRecipients, type Recipient } from './recipients.js';

export interface Coverage {
  /** Current ships and admirals the file is not sealed to: they cannot open it. */
  readonly missing: readonly Recipient[];
  /** Stanzas for no current ship or admiral (one who left, a key added by hand): a reseal drops them. */
  readonly extra: number;
}

/** Who of the current recipients a sealed file misses, and how many of its stanzas are for nobody current (by tag). */
export function coverageOf(file: SealedFile, current: readonly Recipient[]): Coverage {
  const tags = new Set(file.recipients.flatMap((r) => (r.tag === null ? [] : [`${r.type} ${r.tag}`])));
  const wanted = new Set(current.map((r) => `${r.key.split(' ')[0]} ${r.tag}`));
  const missing = current.filter((r) => !tags.has(`${r.key.split(' ')[0]} ${r.tag}`));
  const extra = file.recipients.filter((r) => r.tag === null || !wanted.has(`${r.type} ${r.tag}`)).length;
  return { missing, extra };
}

/**
 * `hq check`'s word on the sealed files: each one not sealed to every current ship and admiral, naming them, and
 * each one still sealed to keys of nobody current; plus (once) the ships and admirals that cannot be sealed to.
 * A malformed file is reported by the layout already, with its path.
 */
export function coverageProblems(files: readonly SealedFile[], r: PhleetRecipients): Problem[] {
  const usable = files.filter((f) => f.problem === null);
  if (usable.length === 0) return [];
  const out: Problem[] = [...r.problems];
  for (const f of usable) {
    const c = coverageOf(f, r.recipients);
    if (c.missing.length > 0) {
      out.push({ file: f.file, message: `not sealed to ${c.missing.map(describeRecipient).join(', ')}: they cannot open it; run \`starphleet secrets reseal\` in this checkout and commit` });
    }
    if (c.extra > 0) {
      out.push({ file: f.file, message: `also sealed to ${c.extra} key(s) of no current ship or admiral (left, or added by hand): \`starphleet secrets reseal\` drops them` });
    }
  }
  return out;
}
