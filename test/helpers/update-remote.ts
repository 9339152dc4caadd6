import { cpSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitIn, initRepo } from './git.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * What STARPHLEET_REMOTE follows in the update tests: `<root>/remote.git`, a bare repo whose master is one commit of
 * a copy of this checkout (no node_modules, dist or .git), pushed from the working copy `<root>/proj` that the tests
 * commit new versions to. The same package-lock.json as the running ship: updates copy its node_modules.
 */
export function updateRemote(root: string, o: { push?: boolean } = {}): { proj: string; remote: string } {
  const proj = join(root, 'proj');
  const remote = join(root, 'remote.git');
  cpSync(ROOT, proj, { recursive: true, filter: (src) => !/^(node_modules|dist|build|\.git)(\/|$)/.test(relative(ROOT, src)) });
  initRepo(proj, {});
  gitIn(root, 'init', '-q', '--bare', '-b', 'master', remote);
  if (o.push !== false) gitIn(proj, 'push', '-q', remote, 'HEAD:master');
  return { proj, remote };
}

/** The pid of the ship that holds a data dir (after an update, not the test's child). */
export function shipPidOf(dataDir: string): number {
  return Number(readFileSync(join(dataDir, 'ship.pid'), 'utf8').trim());
}
