#!/usr/bin/env node
// `npm run example` builds first, unless dist/ is already the build of this very checkout (its build-info.json names
// HEAD, and neither that build nor the tree has uncommitted changes): a rebuild rewrites dist/ file by file under
// every ship already running from it (the test suite's, while its example test runs) for nothing.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
function builtFromHead() {
  try {
    const info = JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8'));
    const git = (...args) => execFileSync('git', args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    return existsSync(join(root, 'dist', 'cli.js')) && info.commit === git('rev-parse', 'HEAD') && !info.dirty && git('status', '--porcelain', '--untracked-files=no') === '';
  } catch {
    return false;
  }
}
if (builtFromHead()) {
  console.log('dist/ is the build of this checkout (HEAD, no changes): not built again');
} else {
  const r = spawnSync('npm', ['run', 'build'], { cwd: root, stdio: 'inherit' });
  process.exit(r.status ?? 1);
}
