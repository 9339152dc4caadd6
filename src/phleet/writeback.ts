import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { git, GitError, type GitAccess } from '../headquarters/git.js';
import type { Logger } from '../log.js';
import { formatRecord, type ShipRecord } from './record.js';
import { retryDelayMs, WRITE_ATTEMPTS } from './write-pace.js';

export interface WriteBackOptions {
  /**
   * Where ships/ is written, asked before each round: the HQ remote as the ship follows it (absolute path or URL)
   * and the branch after `#`, or STARPHLEET_WRITEBACK's repository (ships-checkout.ts).
   */
  readonly target: () => { readonly url: string; readonly ref: string | undefined };
  readonly dir: string;
  readonly access: GitAccess;
  readonly name: string;
  readonly log: Logger;
  /** Attempts of fetch + rebase + push before this round gives up (the next pulse tries again). */
  readonly attempts?: number;
  readonly random?: () => number;
}

/** What a write did, and how many lost races (retries) it took. */
export interface WriteResult {
  readonly result: 'pushed' | 'unchanged';
  readonly retries: number;
}


/**
 * Another ship pushed first (a race worth another attempt). Not a `[remote rejected]` for any other reason: HQ refused
 * the push (a hook, a checked-out branch), and 20 more attempts only delayed the ship's stop by seconds.
 */
function rejected(e: unknown): boolean {
  return e instanceof GitError && /\[rejected\]|\b(non-fast-forward|fetch first|failed to lock|cannot lock ref|stale info|incorrect old value)\b/i.test(e.stderr);
}

/** A write that lost every race of its round: retried at the next pulse. */
export class LostRaces extends Error {
  constructor(
    readonly attempts: number,
    cause: Error,
  ) {
    super(`lost ${attempts} push races in a row (${cause.message}): tried again next pulse`);
  }
}

/**
 * Commits `ships/<name>` to HQ in a clone of its own (never the checkout the ship runs from). Concurrent ships all
 * land: each attempt fetches the branch, puts the ship's one-file commit on top of its tip (the rebase of a commit that
 * touches only our own file cannot conflict) and pushes without force; a rejected push goes round again. History
 * stays linear because a push is only ever a fast-forward.
 */
export class WriteBack {
  private branch: string | null = null;
  private url: string | null = null;
  /** The branch tip the clone was last brought to (refresh asks the remote first, and fetches only when it moved). */
  private fetched: string | null = null;
  /** How long one attempt (fetch to push) takes here, averaged: with the number of ships, the contention window. */
  private attemptMs = 500;
  private writes = 0;
  /** Set by halt(): waits end at once and no new attempt starts (the ship is stopping). */
  private halted = false;
  private wake: (() => void) | null = null;

  constructor(private readonly o: WriteBackOptions) {}

  /**
   * When HQ is a repository on this machine, when its git config last changed (else null): a push HQ refused as a
   * setting is refused again until that changes, and a stat costs nothing where a try is some fifteen git processes.
   */
  settingStamp(): string | null {
    const { url } = this.o.target();
    const path = url.startsWith('file://') ? fileURLToPath(url) : isAbsolute(url) ? url : null;
    if (path === null) return null;
    for (const config of [join(path, '.git', 'config'), join(path, 'config')]) {
      try {
        return `${config} ${statSync(config).mtimeMs}`;
      } catch {
        // not this layout
      }
    }
    return null;
  }

  /** In the write clone, or (outside: false) where it is not yet. */
  private run(args: readonly string[], inside = true): Promise<string> {
    return git(args, { ...(inside ? { cwd: this.o.dir } : {}), access: this.o.access, timeoutMs: 60_000 });
  }

  /** The write clone, cloned again when missing or pointing elsewhere; its branch is the HQ branch the ship follows. */
  private async prepare(): Promise<string> {
    const target = this.o.target();
    if (this.branch && this.url === `${target.url}#${target.ref ?? ''}` && existsSync(join(this.o.dir, '.git'))) return this.branch;
    this.branch = null;
    let usable = false;
    if (existsSync(join(this.o.dir, '.git'))) usable = (await this.run(['config', '--get', 'remote.origin.url']).catch(() => '')) === target.url;
    if (!usable) {
      await rm(this.o.dir, { recursive: true, force: true });
      mkdirSync(join(this.o.dir, '..'), { recursive: true });
      await this.run(['clone', '--quiet', '--no-tags', ...(target.ref !== undefined ? ['--branch', target.ref] : []), '--', target.url, this.o.dir], false);
    }
    const branch = target.ref ?? (await this.run(['symbolic-ref', '--short', 'HEAD']));
    // A tag or a sha cannot be pushed to: such an HQ is read-only for the phleet.
    const heads = await this.run(['ls-remote', '--heads', 'origin', branch]);
    if (!heads) throw new Error(`HQ ref ${branch} is not a branch: ships/ cannot be written back`);
    this.branch = branch;
    this.url = `${target.url}#${target.ref ?? ''}`;
    return branch;
  }

  /**
   * Brings the clone to the branch's tip without writing: where the other ships' entries are read in the separate
   * layout. One ls-remote when the tip has not moved; a fetch only when it has.
   */
  async refresh(): Promise<void> {
    const branch = await this.prepare();
    if (this.fetched !== null) {
      const tip = (await this.run(['ls-remote', '--heads', 'origin', `refs/heads/${branch}`])).split('\t')[0] ?? '';
      if (tip === this.fetched) return;
    }
    await this.sync(branch);
  }

  private async sync(branch: string): Promise<void> {
    await this.run(['fetch', '--quiet', '--no-tags', 'origin', `+refs/heads/${branch}:refs/remotes/origin/${branch}`]);
    await this.run(['reset', '--quiet', '--hard', `refs/remotes/origin/${branch}`]);
    this.fetched = await this.run(['rev-parse', 'HEAD']);
  }

  /** Ends every wait now and lets no new attempt start (the ship is stopping). */
  halt(): void {
    this.halted = true;
    this.wake?.();
  }

  private pause(ms: number): Promise<void> {
    if (this.halted || ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done(): void {
        clearTimeout(t);
        resolve();
      }
      this.wake = done;
    });
  }

  /** The ships in the clone's ships/ times how long an attempt takes here: the time they need to write one by one. */
  private contentionMs(): number {
    let ships = 1;
    try {
      ships = Math.max(1, readdirSync(join(this.o.dir, 'ships')).length);
    } catch {
      // No ships/ yet: this one alone.
    }
    return ships * this.attemptMs;
  }

  /** Writes the record; 'unchanged' when HQ already holds exactly this entry. */
  async write(record: ShipRecord): Promise<WriteResult> {
    const branch = await this.prepare();
    const file = join('ships', this.o.name);
    const content = formatRecord(record);
    const attempts = this.o.attempts ?? WRITE_ATTEMPTS;
    // After the first write, start at a random point of half the contention window: ships that finished a deploy
    // together would otherwise all push in the same second, and most of them lose.
    if (this.writes++ > 0) await this.pause(Math.floor((this.o.random ?? Math.random)() * Math.min(10_000, this.contentionMs() / 2)));
    for (let attempt = 1; ; attempt++) {
      if (this.halted) throw new Error('the ship is stopping: not written back');
      const t0 = Date.now();
      await this.sync(branch);
      const path = join(this.o.dir, file);
      if (existsSync(path) && readFileSync(path, 'utf8') === content) return { result: 'unchanged', retries: attempt - 1 };
      mkdirSync(join(this.o.dir, 'ships'), { recursive: true });
      writeFileSync(path, content);
      await this.run(['add', '--', file]);
      await this.run(['-c', 'user.name=starphleet', '-c', `user.email=${this.o.name}@starphleet`, 'commit', '--quiet', '--no-verify', '-m', `ships/${this.o.name}: hq ${record.hq?.slice(0, 7) ?? 'none'}, ${Object.keys(record.services).length} services`, '--', file]);
      try {
        await this.run(['push', '--quiet', '--no-verify', 'origin', `HEAD:refs/heads/${branch}`]);
        this.attemptMs = 0.7 * this.attemptMs + 0.3 * (Date.now() - t0);
        this.fetched = await this.run(['rev-parse', 'HEAD']);
        return { result: 'pushed', retries: attempt - 1 };
      } catch (e) {
        if (!rejected(e)) throw e;
        this.attemptMs = 0.7 * this.attemptMs + 0.3 * (Date.now() - t0);
        if (attempt >= attempts) throw new LostRaces(attempt, e as Error);
        // Another ship pushed first: wait a random while (retryDelayMs), then fetch and go again.
        await this.pause(retryDelayMs(attempt, this.o.random, this.contentionMs()));
      }
    }
  }
}
