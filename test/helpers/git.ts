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

/**
 * git's steps in one shell: a spawn from a test process (a large heap for node to fork) costs it more than the git
 * it runs; the suite commits thousands of times. The message is an argument, never part of the script.
 */
function gitSteps(dir: string, script: string, message: string): string {
  return execFileSync('sh', ['-c', `set -e\n${script}`, 'sh', message], { cwd: dir, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

const COMMIT_ALL = 'git add -A\ngit commit -q --allow-empty -m "$1"\ngit rev-parse HEAD';

/** Writes (or removes) files, commits everything, returns the new sha. */
export function commit(dir: string, files: Record<string, FileSpec>, message = 'change'): string {
  writeFiles(dir, files);
  return gitSteps(dir, COMMIT_ALL, message);
}

/** A new repo on branch master with the files committed; returns the first sha. */
export function initRepo(dir: string, files: Record<string, FileSpec>): string {
  mkdirSync(dir, { recursive: true });
  writeFiles(dir, files);
  return gitSteps(dir, `git init -q -b master\n${COMMIT_ALL}`, 'initial');
}
