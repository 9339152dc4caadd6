import { lstatSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { runProgram } from '../util/run-program.js';

/**
 * Whether every entry of `dir` (the running version's node_modules) is root's and closed to everyone else: owned by
 * uid 0, no group or other write, no setuid or setgid bit (links are not looked at: they are copied as links). Only
 * then may a new version share its files by hard link: no one but root can change a shared file, so linking is as
 * safe as copying. One `find` that stops at the first entry that fails (9,500 entries here: 0.03 s).
 */
export async function rootOnlyTree(dir: string): Promise<boolean> {
  const r = await runProgram('find', [dir, '!', '-type', 'l', '(', '!', '-uid', '0', '-o', '-perm', '/6022', ')', '-print', '-quit'], { timeout: 60_000 });
  return r.exitCode === 0 && r.stdout === '';
}

/**
 * Puts `from` (a node_modules tree) at `to` the cheapest safe way: new directories whose files are hard links to
 * `from`'s when `from` is root's alone (rootOnlyTree) and on the same filesystem (0.3 s for 219 MB here), else a
 * copy owned by root (3.3 s). `step` runs one program as a build step. Returns how it was placed.
 */
export async function placeDependencies(
  from: string,
  to: string,
  step: (what: string, cmd: string, args: readonly string[]) => Promise<unknown>,
): Promise<'linked' | 'copied'> {
  const sameDevice = lstatSync(from, { throwIfNoEntry: false })?.dev === lstatSync(dirname(to), { throwIfNoEntry: false })?.dev;
  if (process.getuid?.() === 0 && sameDevice && (await rootOnlyTree(from))) {
    try {
      await step('linking node_modules', 'cp', ['-al', '--', from, to]);
      return 'linked';
    } catch {
      // A tree that changed under the walk (or a mount inside it: cp links within one filesystem): copied instead.
      rmSync(to, { recursive: true, force: true });
    }
  }
  // A copy is root's (ownership is not kept: a user's file in the running tree would otherwise stay that user's).
  await step('copying node_modules', 'cp', ['-R', '--no-dereference', '--preserve=mode,timestamps,links', '--', from, to]);
  return 'copied';
}
