import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gitIn } from './git.js';

export const FIXTURES = fileURLToPath(new URL('../fixtures/', import.meta.url));

/** Copies test/fixtures/<name> (modes kept) to dir, makes it a git repo on master, commits it; returns the sha. */
export function fixtureRepo(name: string, dir: string): string {
  cpSync(join(FIXTURES, name), dir, { recursive: true });
  gitIn(dir, 'init', '-q', '-b', 'master');
  gitIn(dir, 'add', '-A');
  gitIn(dir, 'commit', '-q', '-m', `fixture ${name}`);
  return gitIn(dir, 'rev-parse', 'HEAD');
}
