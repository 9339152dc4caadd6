import { existsSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { git, type GitAccess } from './git.js';
import { parseGitRef } from './giturl.js';
import { LsRemoteGate } from './ls-remote-gate.js';

/** The sha `ref` names in `git ls-remote` output, in git's order of meaning; a tag's peeled commit when listed. */
export function pickRef(lsRemote: string, ref: string): string | null {
  const refs = new Map<string, string>();
  for (const line of lsRemote.split('\n')) {
    const [sha, name] = line.trim().split('\t');
    if (sha && name && /^[0-9a-f]{40}$/.test(sha)) refs.set(name, sha);
  }
  const names = ref === 'HEAD' ? ['HEAD'] : [ref, `refs/${ref}`, `refs/tags/${ref}`, `refs/heads/${ref}`, `refs/remotes/${ref}`, `refs/remotes/${ref}/HEAD`];
  for (const n of names) {
    const sha = refs.get(`${n}^{}`) ?? refs.get(n);
    if (sha !== undefined) return sha;
  }
  return null;
}

export type SyncResult =
  | { readonly ok: true; readonly sha: string; readonly changed: boolean; readonly recloned: boolean }
  | { readonly ok: false; readonly error: string };

/** Local paths are made absolute so the clone's origin keeps pointing at them whatever the ship's cwd. */
export function normalizeRemote(url: string): string {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(url) || /^[^/]+@[^/]+:/.test(url)) return url;
  return isAbsolute(url) ? url : resolve(url);
}

/**
 * Keeps one clone of HQ in `<dir>` at the newest commit of the wanted branch (or the remote's HEAD).
 * A failed fetch never touches the checkout; a clone git cannot use any more is cloned again beside it and swapped in.
 */
export class HeadquartersClone {
  readonly url: string;
  readonly ref: string | undefined;
  private sha: string | null = null;

  constructor(
    spec: string,
    readonly dir: string,
    private readonly access: GitAccess,
    private readonly timeoutMs = 120_000,
    /** The ls-remote of each pulse: a host that does not answer within it counts as down (contact.ts backs off). */
    private readonly peekTimeoutMs = 30_000,
    /** Skips the peek's fork while an HQ on this machine did not move (ls-remote-gate.ts). */
    readonly gate = new LsRemoteGate(),
  ) {
    const parsed = parseGitRef(spec);
    if ('error' in parsed) throw new Error(`--headquarters ${JSON.stringify(spec)}: ${parsed.error}`);
    this.url = normalizeRemote(parsed.url);
    this.ref = parsed.ref;
  }

  get display(): string {
    return this.ref === undefined ? this.url : `${this.url}#${this.ref}`;
  }

  /** The sha checked out now, if any. */
  get current(): string | null {
    return this.sha;
  }

  /**
   * One request to the remote when nothing moved (`git ls-remote` of the followed ref); a fetch only when its sha is
   * not the one checked out. The first sync of a ship process always fetches (and checks the clone).
   */
  async sync(): Promise<SyncResult> {
    try {
      if (this.sha !== null) {
        const remote = await this.peek();
        if (remote === this.sha) return { ok: true, sha: remote, changed: false, recloned: false };
      }
      // Once this process synced, the clone is its own (its origin is this.url, its HEAD this.sha): a clone that broke
      // since fails the fetch or the reset below and is cloned again there, without two more gits on every change.
      if (this.sha !== null && existsSync(join(this.dir, '.git'))) return await this.update();
      if (!(await this.usable())) return await this.clone(this.sha !== null || existsSync(this.dir));
      return await this.update();
    } catch (e) {
      return { ok: false, error: (e as Error).message };
    }
  }

  /**
   * The commit the followed ref names on the remote now (ls-remote: no objects move; on an HQ on this machine whose
   * refs did not move, the last answer without forking git), or null when the answer does
   * not say (a sha, or a name ls-remote does not list): then a fetch decides. Names are matched in git's own order
   * (refs/<name>, tags, heads); a tag's peeled commit (`^{}`) is what the checkout holds.
   */
  async peek(): Promise<string | null> {
    const ref = this.ref ?? 'HEAD';
    if (/^[0-9a-f]{40}$/.test(ref)) return ref;
    const out = await this.gate.run(this.url, ref, () => this.run(['ls-remote', '--', this.url, ref], undefined, this.peekTimeoutMs));
    return pickRef(out, ref);
  }

  /**
   * The newest checked-out commit that changed something outside ships/: the HQ sha the ship runs. Ships write
   * themselves into ships/ (src/phleet), and such a commit must redeploy nothing, run no shipscript and cause no new
   * write-back. Null when no commit touches anything else.
   */
  async runsSha(): Promise<string | null> {
    const sha = await this.run(['log', '-1', '--format=%H', 'HEAD', '--', '.', ':(exclude)ships'], this.dir);
    return sha || null;
  }

  private run(args: readonly string[], cwd?: string, timeoutMs = this.timeoutMs): Promise<string> {
    return git(args, { ...(cwd !== undefined ? { cwd } : {}), access: this.access, timeoutMs });
  }

  /** A clone is usable when git can read its HEAD and its origin is still the HQ we were given. */
  private async usable(): Promise<boolean> {
    if (!existsSync(join(this.dir, '.git'))) return false;
    try {
      const origin = await this.run(['config', '--get', 'remote.origin.url'], this.dir);
      if (origin !== this.url) return false;
      this.sha = await this.run(['rev-parse', '--verify', 'HEAD^{commit}'], this.dir);
      return true;
    } catch {
      return false;
    }
  }

  private async update(): Promise<SyncResult> {
    const source = this.ref === undefined ? 'HEAD' : this.ref;
    try {
      // Force (+) so a rewritten history on the remote is followed, not refused.
      await this.run(['fetch', '--no-tags', '--quiet', 'origin', `+${source}:refs/starphleet/hq`], this.dir);
    } catch (e) {
      // Fetch failing while the remote answers means our clone is the problem: clone again.
      if (await this.remoteAnswers()) return this.clone(true);
      throw e;
    }
    const sha = await this.run(['rev-parse', '--verify', 'refs/starphleet/hq^{commit}'], this.dir);
    if (sha === this.sha) return { ok: true, sha, changed: false, recloned: false };
    try {
      await this.run(['reset', '--quiet', '--hard', sha], this.dir);
      await this.run(['clean', '-ffdxq'], this.dir);
    } catch {
      return this.clone(true);
    }
    this.sha = sha;
    return { ok: true, sha, changed: true, recloned: false };
  }

  private async remoteAnswers(): Promise<boolean> {
    try {
      await this.run(['ls-remote', '--exit-code', this.url, this.ref ?? 'HEAD']);
      return true;
    } catch {
      return false;
    }
  }

  /** Clones beside the checkout and swaps it in only once the new clone is complete. */
  private async clone(replacing: boolean): Promise<SyncResult> {
    const tmp = `${this.dir}.clone-${process.pid}`;
    await rm(tmp, { recursive: true, force: true });
    await mkdir(join(this.dir, '..'), { recursive: true });
    const args = ['clone', '--quiet', '--no-tags', ...(this.ref !== undefined ? ['--branch', this.ref] : []), '--', this.url, tmp];
    try {
      await this.run(args);
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      throw e;
    }
    const sha = await this.run(['rev-parse', '--verify', 'HEAD^{commit}'], tmp);
    await this.run(['update-ref', 'refs/starphleet/hq', sha], tmp);
    const old = `${this.dir}.old-${process.pid}`;
    if (existsSync(this.dir)) await rename(this.dir, old);
    await rename(tmp, this.dir);
    await rm(old, { recursive: true, force: true });
    const changed = sha !== this.sha;
    this.sha = sha;
    return { ok: true, sha, changed, recloned: replacing };
  }
}
