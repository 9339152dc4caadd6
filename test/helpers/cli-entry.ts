import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { PlaneProgram } from '../../src/dataplane/ship-side/plane-entry.js';
import { readBuildInfo, sourceCommit } from '../../src/version.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * Whether dist/ was built from exactly the code checked out now: its build record names HEAD and no uncommitted
 * change, and nothing under src/ (or package.json) changed since. Only then may tests run it instead of the sources.
 */
function distIsCurrent(): boolean {
  const info = readBuildInfo(ROOT);
  if (!info?.commit || info.dirty) return false;
  try {
    // Run from the sources (tsx), sourceCommit is the checkout's HEAD.
    const head = sourceCommit();
    const changed = execFileSync('git', ['status', '--porcelain', '--', 'src', 'package.json'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    return head === info.commit && changed.trim() === '';
  } catch {
    return false;
  }
}

function choose(): 'dist' | 'src' {
  const forced = process.env.STARPHLEET_TEST_CODE;
  if (forced === 'dist' || forced === 'src') return forced;
  return distIsCurrent() ? 'dist' : 'src';
}

/**
 * Which code the tests run as `starphleet`: the built dist/cli.js when it is current (CI builds before it tests: the
 * same code, without compiling every module again in every ship and CLI process), else src/cli.ts through tsx.
 * STARPHLEET_TEST_CODE=src|dist forces one.
 */
export const TEST_CODE: 'dist' | 'src' = choose();

/** Node arguments that run the CLI, absolute (any cwd): `[...CLI_ARGS, 'status', ...]`. */
export const CLI_ARGS: readonly string[] = TEST_CODE === 'dist' ? [join(ROOT, 'dist', 'cli.js')] : ['--import', import.meta.resolve('tsx'), join(ROOT, 'src', 'cli.ts')];

/**
 * The data plane a test starts itself (startDataPlane) runs the same code: dist's plane-main when the tests run dist/
 * (a plane through tsx cost ~0.75 CPU-s a start, 23 starts a run), else the source's.
 */
export const PLANE_PROGRAM: PlaneProgram = { root: ROOT, from: TEST_CODE === 'dist' ? 'dist' : 'source' };
