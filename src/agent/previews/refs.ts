import { runProgram } from '../../util/run-program.js';
import { git, gitEnv, type GitAccess } from '../../headquarters/git.js';
import type { LsRemoteGate } from '../../headquarters/ls-remote-gate.js';
import { normalizeRemote } from '../../headquarters/sync.js';
import { withLock } from '../releases/key-lock.js';
import { ensureRepo, repoDir } from '../releases/source.js';

/** What `git ls-remote --symref` says of a service repo: its refs (ref -> commit sha) and the branch HEAD names. */
export interface RemoteRefs {
  readonly head: string | null;
  readonly refs: ReadonlyMap<string, string>;
}

const SHA = /^[0-9a-f]{40}$/;
/** More than any repo a ship should preview from; what a remote sends beyond it is not read. */
const MAX_REFS = 20_000;

/**
 * A ref name the ship will use as a word of a git command and show: what `git check-ref-format` allows, in printable
 * ASCII, under refs/. A remote is not trusted to send only such names (it is someone else's server).
 */
export function usableRef(ref: string): boolean {
  return /^refs\/[\x21-\x7e]{1,250}$/.test(ref) && !/[~^:?*[\\]|\.\.|@\{|\/\/|\/\.|\.lock(\/|$)|\/$|\.$/.test(ref);
}

/** Parses `git ls-remote --symref` output: `ref: refs/heads/main\tHEAD`, then `<sha>\t<ref>` lines. */
export function parseLsRemote(out: string): RemoteRefs {
  let head: string | null = null;
  const refs = new Map<string, string>();
  for (const line of out.split('\n').slice(0, MAX_REFS)) {
    const [left, name] = line.split('\t');
    if (left === undefined || name === undefined) continue;
    if (left.startsWith('ref: ') && name === 'HEAD') {
      const target = left.slice('ref: '.length);
      if (usableRef(target)) head = target;
    } else if (SHA.test(left) && usableRef(name)) refs.set(name, left);
  }
  return { head, refs };
}

/**
 * One `git ls-remote --symref` of the service repo: every ref and the default branch, in one round trip. Through
 * `gate`, none while a repo on this machine did not move (headquarters/ls-remote-gate.ts).
 */
export async function listRemoteRefs(giturl: string, access: GitAccess, gate?: LsRemoteGate): Promise<RemoteRefs> {
  const url = normalizeRemote(giturl);
  const ask = (): Promise<string> => git(['ls-remote', '--symref', '--', url], { access, timeoutMs: 60_000 });
  return parseLsRemote(await (gate ? gate.run(url, '--symref', ask) : ask()));
}

/** The shas the clone does not hold as commits: one `git cat-file --batch-check` for all of them. */
async function missing(repo: string, shas: readonly string[]): Promise<Set<string>> {
  if (shas.length === 0) return new Set();
  const r = await runProgram('git', ['cat-file', '--batch-check=%(objectname) %(objecttype)'], { cwd: repo, env: gitEnv({}), input: `${shas.join('\n')}\n` });
  if (r.failed) return new Set(shas);
  const present = new Set(String(r.stdout).split('\n').filter((l) => l.endsWith(' commit')).map((l) => l.split(' ')[0]));
  return new Set(shas.filter((s) => !present.has(s)));
}

/**
 * Brings the commits of these refs into the service's cached clone (repos/<hash>), those it does not hold yet, by their
 * ref names (pull request refs are not among the branches a deploy fetches): one fetch for all of them, then one per
 * ref when that fails (a ref deleted meanwhile fails the whole fetch). The deploy then finds each commit there.
 */
export async function fetchRefCommits(dataDir: string, giturl: string, wanted: ReadonlyMap<string, string>, access: GitAccess): Promise<string[]> {
  const url = normalizeRemote(giturl);
  const repo = await withLock(repoDir(dataDir, url), () => ensureRepo(dataDir, url));
  const absent = await missing(repo, [...new Set(wanted.values())]);
  const refs = [...wanted].filter(([, sha]) => absent.has(sha)).map(([ref]) => ref);
  if (refs.length === 0) return [];
  const failed: string[] = [];
  await withLock(repo, async () => {
    const fetch = (names: readonly string[]): Promise<string> => git(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', '--', url, ...names], { cwd: repo, access, timeoutMs: 600_000 });
    try {
      await fetch(refs);
    } catch {
      for (const r of refs) await fetch([r]).catch((e: unknown) => failed.push(`${r}: ${(e as Error).message}`));
    }
  });
  return failed;
}

/** Committer times (ms) of the commits the clone holds; a commit it lacks has none. */
export async function commitTimes(dataDir: string, giturl: string, shas: readonly string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  const repo = repoDir(dataDir, normalizeRemote(giturl));
  const present = [...new Set(shas)].filter((s) => SHA.test(s));
  const absent = await missing(repo, present);
  const known = present.filter((s) => !absent.has(s));
  if (known.length === 0) return out;
  const text = await git(['show', '-s', '--format=%H %ct', ...known], { cwd: repo });
  for (const line of text.split('\n')) {
    const [sha, t] = line.split(' ');
    if (sha && t && /^\d+$/.test(t)) out.set(sha, Number(t) * 1000);
  }
  return out;
}
