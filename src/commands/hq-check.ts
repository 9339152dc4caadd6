import { resolve } from 'node:path';
import { formatGitRef } from '../headquarters/giturl.js';
import { readHeadquarters } from '../headquarters/layout.js';
import { formatProblem } from '../headquarters/format-problem.js';
import type { DesiredState } from '../headquarters/types.js';

/** The report `starphleet hq check` prints: services, admirals, then every problem as file:line: message. */
export function hqReport(state: DesiredState): string {
  const lines: string[] = ['services:'];
  for (const s of state.services) lines.push(`  ${s.mount} -> ${formatGitRef({ url: s.orders.giturl, ref: s.orders.ref })}${s.orders.unpublished ? ' (unpublished)' : ''}`);
  if (state.services.length === 0) lines.push('  (none)');
  lines.push('admirals:');
  for (const a of state.admirals) lines.push(`  ${a.file} -> ${a.fingerprint}${a.comment ? ` ${a.comment}` : ''}`);
  if (state.admirals.length === 0) lines.push('  (none)');
  if (state.jobs.length > 0) {
    lines.push('jobs:');
    for (const j of state.jobs) lines.push(`  ${j.schedule} ${j.url}`);
  }
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
export async function hqCheck(dir: string, write: (s: string) => void, evalTimeoutMs: number): Promise<number> {
  const state = await readHeadquarters(resolve(dir), { sha: null, evalTimeoutMs });
  write(hqReport(state));
  return state.problems.length === 0 ? 0 : 1;
}
