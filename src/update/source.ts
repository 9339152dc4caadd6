import { existsSync, mkdirSync, readlinkSync, renameSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { git, type GitAccess } from '../headquarters/git.js';
import { formatGitRef, parseGitRef, type GitRef } from '../headquarters/giturl.js';
import { PACKAGE, PACKAGE_ROOT, readBuildInfo } from '../version.js';
import { shipUpdateRemote } from '../settings/env-settings.js';

/** Where new starphleet comes from: STARPHLEET_REMOTE (`url#branch`), else the package's own `repository`. */
export function updateRemote(env: NodeJS.ProcessEnv = process.env): GitRef {
  const repo = PACKAGE.repository;
  const fallback = typeof repo === 'string' ? repo : repo?.url;
  const spec = shipUpdateRemote(env) ?? fallback?.replace(/^git\+/, '');
  if (!spec) throw new Error('no update remote: set STARPHLEET_REMOTE (a git url#branch) or a repository in package.json');
  const ref = parseGitRef(spec);
  if ('error' in ref) throw new Error(`STARPHLEET_REMOTE ${JSON.stringify(spec)}: ${ref.error}`);
  return ref;
}

/**
 * The commit the running ship was built from: a git checkout (an update clones into <data>/versions/<sha>, a
 * developer runs a clone) is at its HEAD; an npm install of a packed tarball knows it from dist/build-info.json,
 * written when it was packed. null when neither says: then any remote commit counts as newer.
 */
export async function runningCommit(root: string = PACKAGE_ROOT): Promise<string | null> {
  if (!existsSync(join(root, '.git'))) return readBuildInfo(root)?.commit ?? null;
  return git(['rev-parse', 'HEAD'], { cwd: root }).catch(() => null);
}

export function versionsDir(dataDir: string): string {
  return join(dataDir, 'versions');
}

/** The newest commit of the remote's branch (or its default branch), without fetching anything else. */
export async function newestCommit(remote: GitRef, access: GitAccess): Promise<string> {
  const out = await git(['ls-remote', '--', remote.url, remote.ref ?? 'HEAD'], { access, timeoutMs: 60_000 });
  const lines = out.split('\n').filter((l) => l.trim());
  // A bare name may match refs/heads/x and refs/tags/x: the branch wins.
  const line = lines.find((l) => l.endsWith(`refs/heads/${remote.ref ?? ''}`)) ?? lines[0];
  const sha = line?.split(/\s+/)[0];
  if (!sha || !/^[0-9a-f]{40}$/.test(sha)) throw new Error(`${formatGitRef(remote)}: no such branch or ref on the remote`);
  return sha;
}

/** Where `current` or `previous` points: never removed to make room for a fetch (a refused one would lose it). */
function linked(root: string): Set<string> {
  const out = new Set<string>();
  for (const name of ['current', 'previous']) {
    try {
      out.add(resolve(root, readlinkSync(join(root, name))));
    } catch {
      // no such link yet
    }
  }
  return out;
}

/** versions/<sha>, or versions/<sha>-<n> when <sha> is the current or previous version (a downgrade fetches it again). */
function freeVersionDir(root: string, sha: string): string {
  const inUse = linked(root);
  for (let n = 0; ; n++) {
    const dir = join(root, n === 0 ? sha : `${sha}-${n}`);
    if (!inUse.has(dir)) return dir;
  }
}

/**
 * Clones the remote's branch into <data>/versions/<sha> (the sha it really got, which may be newer than asked for),
 * through a temporary directory so a half-done clone never looks like an installed version.
 */
export async function cloneVersion(dataDir: string, remote: GitRef, access: GitAccess): Promise<{ sha: string; dir: string }> {
  const root = versionsDir(dataDir);
  mkdirSync(root, { recursive: true, mode: 0o755 });
  const tmp = join(root, `.incoming-${process.pid}-${Date.now()}`);
  try {
    const branch = remote.ref ? ['--branch', remote.ref] : [];
    // Commits of the whole history (blobs only for the checkout where the remote can filter): forward.ts asks git
    // whether the running commit is an ancestor, which a --depth 1 clone cannot tell.
    await git(['clone', '-q', '--filter=blob:none', '--no-local', ...branch, '--', remote.url, tmp], { access, timeoutMs: 300_000 });
    const sha = await git(['rev-parse', 'HEAD'], { cwd: tmp });
    const dir = freeVersionDir(root, sha);
    // A directory of the same sha from an earlier attempt may be half built: start clean.
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
    return { sha, dir };
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
