import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runProgram } from '../util/run-program.js';

/** x.y.z, numbers only: a version that is anything else is never taken for a higher one. */
const PLAIN = /^(\d+)\.(\d+)\.(\d+)$/;

/** a > b for plain x.y.z versions; false when either is not one (a pre-release or a build tag proves nothing). */
export function higherVersion(a: string, b: string): boolean {
  const x = PLAIN.exec(a);
  const y = PLAIN.exec(b);
  if (!x || !y) return false;
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i]);
    if (d !== 0) return d > 0;
  }
  return false;
}

function packageVersion(dir: string): string {
  try {
    const v = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version?: unknown }).version;
    return typeof v === 'string' ? v : '';
  } catch {
    return '';
  }
}

/**
 * With signed updates, an update only goes forward: the fetched commit must descend from the running one (the
 * running commit is in its history, as git sees it in the clone), or carry a higher plain version in package.json
 * than the running version (what a signed release on another branch is). Otherwise whoever controls the update
 * remote could replay any commit an admiral ever signed, however old. Returns why it is refused, or null.
 */
export async function forwardProblem(dir: string, sha: string, running: string | null, runningVersion: string): Promise<string | null> {
  if (running !== null) {
    const r = await runProgram('git', ['merge-base', '--is-ancestor', running, sha], { cwd: dir, timeout: 60_000, env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' } });
    if (!r.failed) return null;
  }
  const version = packageVersion(dir);
  if (higherVersion(version, runningVersion)) return null;
  const from = running === null ? `the running version ${runningVersion} (its commit is not known)` : `the running commit ${running} (${runningVersion})`;
  return `commit ${sha} (${version || 'no version'}) does not descend from ${from} and does not carry a higher version: refused as a downgrade; an admiral who means it runs the update with --allow-downgrade`;
}
