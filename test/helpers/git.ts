import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** File content, or content with a mode (e.g. 0o755 for a shipscript); null removes the file. */
export type FileSpec = string | { content: string; mode: number } | null;

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'Test Admiral',
  GIT_AUTHOR_EMAIL: 'admiral@example.com',
  GIT_COMMITTER_NAME: 'Test Admiral',
  GIT_COMMITTER_EMAIL: 'admiral@example.com',
  GIT_CONFIG_NOSYSTEM: '1',
};

export function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', args, { cwd: dir, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

export function writeFiles(dir: string, files: Record<string, FileSpec>): void {
  for (const [name, spec] of Object.entries(files)) {
    const path = join(dir, name);
    if (spec === null) {
      rmSync(path, { recursive: true, force: true });
      continue;
    }
    mkdirSync(dirname(path), { recursive: true });
    const content = typeof spec === 'string' ? spec : spec.content;
    writeFileSync(path, content);
    if (typeof spec !== 'string') chmodSync(path, spec.mode);
  }
}

/** Writes (or removes) files, commits everything, returns the new sha. */
export function commit(dir: string, files: Record<string, FileSpec>, message = 'change'): string {
  writeFiles(dir, files);
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '--allow-empty', '-m', message);
  return gitIn(dir, 'rev-parse', 'HEAD');
}

/** A new repo on branch master with the files committed; returns the first sha. */
export function initRepo(dir: string, files: Record<string, FileSpec>): string {
  mkdirSync(dir, { recursive: true });
  gitIn(dir, 'init', '-q', '-b', 'master');
  return commit(dir, files, 'initial');
}
