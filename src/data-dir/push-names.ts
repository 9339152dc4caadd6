import { join } from 'node:path';
import { insideRoot } from '../paths.js';

// The names and places of `git push ship` test builds: the SSH side (git-command.ts, push-repo.ts) parses and stores
// pushes by them, the push-build/push-serve commands build and serve them.

/** One repo per test-build name: lower case, so `/<name>-<sha7>/` is one unambiguous URL segment. */
export const PUSH_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

/** <dataDir>/push: where the bare repos of `git push ship` live. */
export function pushDir(dataDir: string): string {
  return join(dataDir, 'push');
}

/** The bare repo of a name, cleaned and checked to stay inside the push dir (null if it would not). */
export function pushRepoPath(dataDir: string, name: string): string | null {
  const repo = insideRoot(pushDir(dataDir), `${name}.git`);
  return repo !== null && repo !== pushDir(dataDir) && PUSH_NAME.test(name) ? repo : null;
}

/**
 * The service name a push's releases, logs and test instance go by. HQ service names come from mount paths; the `_push.`
 * prefix keeps test builds apart from them (push-build refuses a name an HQ service happens to use).
 */
export function pushServiceName(name: string): string {
  return `_push.${name}`;
}

/** Where the front door serves a push's test instance: `/<name>-<sha7>`. */
export function pushMount(name: string, sha: string): string {
  return `/${name}-${sha.slice(0, 7)}`;
}
