import { resolve } from 'node:path';
import { formatGitRef } from '../headquarters/giturl.js';
import { readHeadquarters } from '../headquarters/layout.js';
import { formatProblem } from '../headquarters/format-problem.js';
import type { DesiredState, Problem } from '../headquarters/types.js';
import { coverageOf, coverageProblems } from '../secrets/coverage.js';
import { currentRecipients, describeRecipient, type PhleetRecipients } from '../secrets/recipients.js';
import { readShips } from '../phleet/record.js';
import { shipsSource, type ShipsSource } from '../phleet/ships-source.js';
import { placementLines, placementProblems } from './hq-check-placement.js';

/** Each secrets.age and who it is sealed to (by the tags in its header: nothing is decrypted). */
function secretsLines(state: DesiredState, r: PhleetRecipients): string[] {
  const files = state.secrets ?? [];
  if (files.length === 0) return [];
  const lines = ['secrets:'];
  for (const f of files) {
    if (f.problem !== null) {
      lines.push(`  ${f.file} -> unusable (see problems)`);
      continue;
    }
    const c = coverageOf(f, r.recipients);
    const sealedTo = r.recipients.filter((x) => !c.missing.includes(x)).map(describeRecipient);
    lines.push(`  ${f.file} -> sealed to ${sealedTo.join(', ') || 'no current ship or admiral'}${c.extra > 0 ? ` (+${c.extra} other key(s))` : ''}`);
  }
  return lines;
}

/** Files of a service's own directory: a problem in one marks the service in the report. */
const SERVICE_FILES = new Set(['orders', '.htpasswd', 'secrets.age', 'previews.env']);

/** The mount a problem's file belongs to (`a/b/orders` -> /a/b, `orders` -> /), or null for an HQ-wide file. */
function mountOfProblem(file: string): string | null {
  const i = file.lastIndexOf('/');
  const [dir, name] = i < 0 ? ['', file] : [file.slice(0, i), file.slice(i + 1)];
  return SERVICE_FILES.has(name) ? `/${dir}` : null;
}

/**
 * The report `starphleet hq check` prints: every service (those whose orders failed too, marked), admirals, jobs,
 * secrets, then every problem as file:line: message.
 */
export function hqReport(state: DesiredState, recipients?: PhleetRecipients, placement: readonly string[] = []): string {
  const problemsOf = new Map<string, number>();
  for (const p of state.problems) {
    const m = mountOfProblem(p.file);
    if (m !== null) problemsOf.set(m, (problemsOf.get(m) ?? 0) + 1);
  }
  const mark = (mount: string): string => {
    const n = problemsOf.get(mount) ?? 0;
    return n === 0 ? '' : `  ! ${n} problem${n === 1 ? '' : 's'} below`;
  };
  const rows = new Map<string, string>();
  for (const s of state.services) rows.set(s.mount, `  ${s.mount} -> ${formatGitRef({ url: s.orders.giturl, ref: s.orders.ref })}${s.orders.unpublished ? ' (unpublished)' : ''}${s.orders.previews ? ` (previews of ${s.orders.previews.patterns.join(' ') || 'every branch'}, --max ${s.orders.previews.max})` : ''}${mark(s.mount)}`);
  // Orders that failed (or were refused: a reserved path, a name taken) are services too, just not deployable now.
  for (const mount of [...state.brokenOrders, ...problemsOf.keys()]) {
    if (!rows.has(mount) && state.problems.some((p) => p.file === `${mount.slice(1)}${mount === '/' ? '' : '/'}orders`)) rows.set(mount, `  ${mount} -> (orders not usable)${mark(mount)}`);
  }
  const lines: string[] = ['services:', ...[...rows.entries()].sort(([a], [b]) => a.localeCompare(b)).map(([, row]) => row)];
  if (rows.size === 0) lines.push('  (none)');
  lines.push('admirals:');
  for (const a of state.admirals) lines.push(`  ${a.file} -> ${a.fingerprint}${a.comment ? ` ${a.comment}` : ''}`);
  if (state.admirals.length === 0) lines.push('  (none)');
  if (state.jobs.length > 0) {
    lines.push('jobs:');
    for (const j of state.jobs) lines.push(`  ${j.schedule} ${j.url}`);
  }
  lines.push(...placement);
  if (recipients) lines.push(...secretsLines(state, recipients));
  if (state.problems.length > 0) {
    lines.push('problems:');
    for (const p of state.problems) lines.push(formatProblem(p));
  }
  return `${lines.join('\n')}\n`;
}

/**
 * Validate an HQ checkout: prints services, admirals and every problem as file:line: message.
 * Returns the exit code: 0 when clean, 1 when there are problems.
 */
export async function hqCheck(dir: string, write: (s: string) => void, evalTimeoutMs: number, o: { readonly ships?: string } = {}): Promise<number> {
  const read = await readHeadquarters(resolve(dir), { sha: null, evalTimeoutMs });
  const extra: Problem[] = [];
  // ships/ is read where the ships write it: HQ, --ships DIR, or the STARPHLEET_WRITEBACK repository (cloned).
  const needShips = (read.secrets ?? []).length > 0 || read.services.some((s) => s.orders.on !== undefined) || o.ships !== undefined;
  let source: ShipsSource | null = null;
  try {
    source = needShips ? await shipsSource(resolve(dir), { ...(o.ships !== undefined ? { ships: o.ships } : {}), hqEnv: read.env }) : null;
  } catch (e) {
    if (o.ships !== undefined) throw e;
    extra.push({ file: '.starphleet', message: (e as Error).message });
  }
  try {
    // Sealed files are checked against ships/ and authorized_keys/: each one missing someone is said.
    const recipients = (read.secrets ?? []).length > 0 ? await currentRecipients(resolve(dir), source?.dir ?? resolve(dir)) : undefined;
    if (recipients) extra.push(...coverageProblems(read.secrets ?? [], recipients));
    const entries = source ? readShips(source.dir).ships : [];
    extra.push(...placementProblems(read, entries, source?.from ?? 'HQ'));
    const state = extra.length === 0 ? read : { ...read, problems: [...read.problems, ...extra].sort((a, b) => a.file.localeCompare(b.file) || (a.line ?? 0) - (b.line ?? 0)) };
    write(hqReport(state, recipients, placementLines(read, entries)));
    return state.problems.length === 0 ? 0 : 1;
  } finally {
    await source?.cleanup();
  }
}
