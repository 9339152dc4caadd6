import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CLI_ARGS } from './cli-entry.js';
import { tmpDir } from './tmp.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The source modules in a file of dist/bundle/ (scripts/bundle.mjs), from the sources its source map lists: what a
 * bundle or chunk holds is what loading it runs.
 */
function bundled(file: string): string[] {
  try {
    const map = JSON.parse(readFileSync(`${file}.map`, 'utf8')) as { sources?: string[] };
    return (map.sources ?? []).map((s) => join(dirname(file), s));
  } catch {
    return [];
  }
}

/**
 * The modules one CLI call loads (CLI_ARGS: dist or src), as paths without extension relative to its code dir
 * (`commands/meta/command-table`) or, for packages, from node_modules on (`node_modules/ssh2/lib/index`). A file of
 * dist/bundle/ counts as the source modules bundled in it.
 */
export function loadedModules(args: readonly string[], env: NodeJS.ProcessEnv = {}): { code: number | null; modules: string[]; err: string } {
  const file = join(tmpDir('sp-loaded-'), 'loaded.txt');
  const r = spawnSync(process.execPath, ['--import', join(ROOT, 'test', 'helpers', 'trace-load.mjs'), ...CLI_ARGS, ...args], {
    encoding: 'utf8',
    env: { ...process.env, ...env, TRACE_LOADED_MODULES: file },
    timeout: 120_000,
  });
  const urls = new Set(readFileSync(file, 'utf8').split('\n').filter((u) => u !== ''));
  const paths = [...urls].flatMap((u) => {
    const path = fileURLToPath(u);
    return path.startsWith(join(ROOT, 'dist', 'bundle') + '/') ? bundled(path) : [path];
  });
  const modules = [...new Set(paths)].map((path) => {
    const pkg = path.lastIndexOf('/node_modules/');
    if (pkg >= 0) return path.slice(pkg + 1);
    return path.replace(/^.*?\/(?:src|dist)\//, '').replace(/\.(ts|js)$/, '');
  });
  return { code: r.status, modules, err: r.stderr };
}
