import { join } from 'node:path';
import { type FileSpec, commit, gitIn, initRepo } from './git.js';

/**
 * An HQ the ships can push to: a bare repository (git refuses pushes to a checked-out branch) and the admiral's
 * clone of it. `commit` pulls first (the ships write ships/ meanwhile) and pushes without force, like an admiral.
 */
export class PushableHq {
  readonly bare: string;
  readonly work: string;

  constructor(root: string, files: Record<string, FileSpec>) {
    const seed = join(root, 'hq-seed');
    this.bare = join(root, 'hq.git');
    this.work = join(root, 'hq-admiral');
    initRepo(seed, files);
    gitIn(root, 'clone', '-q', '--bare', seed, this.bare);
    gitIn(root, 'clone', '-q', this.bare, this.work);
  }

  /** Commits files on top of the newest HQ (ships' entries included) and pushes; retries a push that lost a race. */
  commit(files: Record<string, FileSpec>, message = 'admiral change'): string {
    gitIn(this.work, 'pull', '-q', '--rebase', 'origin', 'master');
    const sha = commit(this.work, files, message);
    for (let i = 0; ; i++) {
      try {
        gitIn(this.work, 'push', '-q', 'origin', 'HEAD:master');
        return gitIn(this.work, 'rev-parse', 'HEAD');
      } catch (e) {
        if (i > 20) throw e;
        gitIn(this.work, 'pull', '-q', '--rebase', 'origin', 'master');
      }
    }
    return sha;
  }

  /** Files under ships/ at the tip of HQ. */
  ships(): string[] {
    const out = gitIn(this.bare, 'ls-tree', '--name-only', 'master', 'ships/');
    return out ? out.split('\n').map((p) => p.replace(/^ships\//, '')) : [];
  }

  /** An entry as HQ holds it now. */
  entry(name: string): Record<string, unknown> {
    return JSON.parse(gitIn(this.bare, 'show', `master:ships/${name}`)) as Record<string, unknown>;
  }

  merges(): number {
    return Number(gitIn(this.bare, 'rev-list', '--count', '--merges', 'master'));
  }
}
