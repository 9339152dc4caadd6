#!/usr/bin/env node
// Run by `npm run build` (and so by `npm pack`, whose prepack builds): records the version and the git commit the
// build came from in dist/build-info.json, so an install without .git (npm install -g of a tarball) still knows
// its commit for `starphleet --version` and `ssh update@ship`.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
let commit = null;
let dirty = false;
if (existsSync(join(root, '.git'))) {
  const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  try {
    commit = git('rev-parse', 'HEAD');
    // Uncommitted changes to tracked files: the commit alone does not describe what was built.
    dirty = git('status', '--porcelain', '--untracked-files=no') !== '';
  } catch {
    commit = null;
  }
}
mkdirSync(join(root, 'dist'), { recursive: true });
writeFileSync(join(root, 'dist', 'build-info.json'), `${JSON.stringify({ version, commit, dirty, builtAt: new Date().toISOString() }, null, 2)}\n`);
