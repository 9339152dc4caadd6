import { join } from 'node:path';
import { runProgram } from '../../util/run-program.js';
import { pushMaxCheckoutBytes } from '../../agent/push-limits.js';
import { gitEnv } from '../../headquarters/git.js';

/** git run on a push repo with the hook's object dirs: the pushed objects are still in git's quarantine. */
export function quarantineEnv(repo: string, quarantine: string | null): Record<string, string> {
  const objects = join(repo, 'objects');
  return {
    ...gitEnv({}),
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: process.env.HOME ?? '/',
    GIT_DIR: repo,
    GIT_OBJECT_DIRECTORY: quarantine ?? objects,
    ...(quarantine ? { GIT_ALTERNATE_OBJECT_DIRECTORIES: objects } : {}),
  };
}

/**
 * Why the tree at `sha` is too large to check out, or null. Sizes come from the objects' headers (`git ls-tree -l`),
 * so a blob of a few KiB in the pack that inflates to GiB is measured without being inflated.
 */
export async function treeTooLarge(repo: string, quarantine: string | null, sha: string): Promise<string | null> {
  const max = pushMaxCheckoutBytes();
  const r = await runProgram('git', ['ls-tree', '-r', '-l', '-z', '--full-tree', sha], { cwd: repo, env: quarantineEnv(repo, quarantine), extendEnv: false, timeout: 120_000, maxBuffer: 256 * 1024 * 1024 });
  if (r.failed) return `cannot list the pushed tree: ${String(r.stderr).trim() || r.message}`;
  let bytes = 0;
  let files = 0;
  for (const entry of String(r.stdout).split('\0')) {
    // <mode> SP <type> SP <object> SP+ <size> TAB <path>; submodules (commit) have '-' as size.
    const size = /^\d+ blob [0-9a-f]+ +(\d+)\t/.exec(entry)?.[1];
    if (size === undefined) continue;
    bytes += Number(size);
    files++;
    if (bytes > max) break;
  }
  if (bytes <= max) return null;
  return `the pushed tree at ${sha.slice(0, 7)} holds more than ${max} bytes (STARPHLEET_PUSH_MAX_CHECKOUT_BYTES) in its first ${files} files: refused before anything is checked out`;
}
