import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { runProgram } from '../../util/run-program.js';
import { git, gitEnv, type GitAccess } from '../../headquarters/git.js';
import { normalizeRemote } from '../../headquarters/sync.js';
import { withLock } from './key-lock.js';

const FULL_SHA = /^[0-9a-f]{40}$/;
const SHORT_SHA = /^[0-9a-f]{4,39}$/;

/** repos/<sha256 of url>/: one bare clone per service (or buildpack) repo, shared by every service that uses it. */
export function repoDir(dataDir: string, giturl: string): string {
  return join(dataDir, 'repos', createHash('sha256').update(normalizeRemote(giturl)).digest('hex'));
}

/**
 * The commit `ref` names on the remote: a branch, then a tag (annotated tags peeled to their commit), else the remote's
 * default branch when ref is undefined. A full sha names itself; a short sha needs the clone (pass dataDir) and is
 * checked there; a full sha is checked there too when dataDir is given.
 */
export async function resolveRef(giturl: string, ref: string | undefined, access: GitAccess, dataDir?: string): Promise<string> {
  const url = normalizeRemote(giturl);
  if (ref === undefined) {
    const out = await git(['ls-remote', '--', url, 'HEAD'], { access });
    const sha = out.split('\n')[0]?.split('\t')[0] ?? '';
    if (!FULL_SHA.test(sha)) throw new Error(`${giturl}: the remote has no default branch (HEAD); name one with #<branch>`);
    return sha;
  }
  if (FULL_SHA.test(ref)) {
    if (dataDir !== undefined) await fetchCommit(dataDir, url, ref, access);
    return ref;
  }
  const refs = new Map<string, string>();
  for (const line of (await git(['ls-remote', '--', url], { access })).split('\n')) {
    const [sha, name] = line.split('\t');
    if (sha && name) refs.set(name, sha);
  }
  const found =
    refs.get(`refs/heads/${ref}`) ?? refs.get(`refs/tags/${ref}^{}`) ?? refs.get(`refs/tags/${ref}`) ?? (ref.startsWith('refs/') ? refs.get(ref) : undefined);
  if (found) return found;
  if (SHORT_SHA.test(ref) && dataDir !== undefined) {
    await fetchAll(dataDir, url, access);
    try {
      return await git(['rev-parse', '--verify', '--quiet', `${ref}^{commit}`], { cwd: repoDir(dataDir, url) });
    } catch {
      throw new Error(`${giturl}#${ref}: no branch, tag or commit of that name (or the short sha is ambiguous)`);
    }
  }
  throw new Error(`${giturl}#${ref}: no branch or tag of that name on the remote${SHORT_SHA.test(ref) ? ' (a short sha is only found with the repo clone)' : ''}`);
}

async function hasCommit(repo: string, sha: string): Promise<boolean> {
  try {
    await git(['cat-file', '-e', `${sha}^{commit}`], { cwd: repo });
    return true;
  } catch {
    return false;
  }
}

/** Creates the bare clone if missing (beside, then renamed: a half-made clone is never left in place). */
export async function ensureRepo(dataDir: string, url: string): Promise<string> {
  const repo = repoDir(dataDir, url);
  if (existsSync(join(repo, 'HEAD'))) return repo;
  await mkdir(join(dataDir, 'repos'), { recursive: true });
  const tmp = `${repo}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    await git(['init', '--quiet', '--bare', tmp]);
    await git(['config', 'starphleet.url', url], { cwd: tmp });
    await rename(tmp, repo);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
  return repo;
}

async function fetchAll(dataDir: string, url: string, access: GitAccess): Promise<string> {
  return withLock(repoDir(dataDir, url), async () => {
    const repo = await ensureRepo(dataDir, url);
    // Forced (+) so rewritten branches are followed; pruned so deleted branches do not linger as resolvable names.
    await git(['fetch', '--quiet', '--prune', '--force', '--', url, '+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'], { cwd: repo, access, timeoutMs: 600_000 });
    return repo;
  });
}

/** Makes sure the cached clone holds `sha` (fetching only when it does not); returns the clone's path. */
export async function fetchCommit(dataDir: string, giturl: string, sha: string, access: GitAccess): Promise<string> {
  const url = normalizeRemote(giturl);
  if (!FULL_SHA.test(sha)) throw new Error(`${giturl}: ${JSON.stringify(sha)} is not a full commit sha`);
  const repo = await withLock(repoDir(dataDir, url), () => ensureRepo(dataDir, url));
  if (await hasCommit(repo, sha)) return repo;
  await fetchAll(dataDir, url, access);
  if (await hasCommit(repo, sha)) return repo;
  // Not on any branch or tag: ask for it by name (servers allow it for reachable commits with protocol v2).
  await withLock(repo, () => git(['fetch', '--quiet', '--', url, sha], { cwd: repo, access }).catch(() => ''));
  if (await hasCommit(repo, sha)) return repo;
  throw new Error(`${giturl}: commit ${sha} does not exist on the remote`);
}

/**
 * Writes exactly the tree at `sha` into `dest` (created, must not exist): no .git, no export-ignore, modes as committed.
 * A private index file is used so concurrent exports from one clone cannot disturb each other.
 */
export async function exportTree(repo: string, sha: string, dest: string): Promise<void> {
  await mkdir(dest, { recursive: false });
  const index = join(dest, '..', `.index-${randomBytes(6).toString('hex')}`);
  const env = { ...gitEnv({}), GIT_DIR: repo, GIT_WORK_TREE: dest, GIT_INDEX_FILE: index };
  try {
    for (const args of [['read-tree', sha], ['-c', 'core.autocrlf=false', 'checkout-index', '--all', '--force']]) {
      const r = await runProgram('git', args, { cwd: dest, env });
      if (r.failed) throw new Error(`git ${args.join(' ')} in ${repo}: ${r.stderr.trim() || r.message}`);
    }
  } finally {
    await rm(index, { force: true });
  }
}
