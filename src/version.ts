import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: one level above `src/` (tsx) or `dist/` (built). */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface PackageJson {
  readonly version: string;
  readonly repository?: { readonly url?: string } | string;
}

export const PACKAGE: PackageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as PackageJson;

export const VERSION: string = PACKAGE.version;

/** What scripts/build-info.mjs recorded when dist/ was built (npm run build, npm pack). */
export interface BuildInfo {
  readonly version: string;
  readonly commit: string | null;
  readonly dirty: boolean;
  readonly builtAt: string;
}

/** dist/build-info.json under root, or null when there is none (never built) or it is not one. */
export function readBuildInfo(root: string = PACKAGE_ROOT): BuildInfo | null {
  try {
    const v = JSON.parse(readFileSync(join(root, 'dist', 'build-info.json'), 'utf8')) as Partial<BuildInfo>;
    if (typeof v.version !== 'string') return null;
    return { version: v.version, commit: typeof v.commit === 'string' && /^[0-9a-f]{40}$/.test(v.commit) ? v.commit : null, dirty: v.dirty === true, builtAt: String(v.builtAt ?? '') };
  } catch {
    return null;
  }
}

/**
 * The commit this code came from. Built code (dist/) knows it from its build record, which is right even when the
 * checkout moved on since or there is no .git at all (an npm install); code run from src/ (tsx) is the checkout's HEAD.
 */
export function sourceCommit(): string | null {
  if (!import.meta.url.endsWith('.ts')) return readBuildInfo()?.commit ?? null;
  if (!existsSync(join(PACKAGE_ROOT, '.git'))) return null;
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { cwd: PACKAGE_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    return null;
  }
}

/** `starphleet --version`: the version and the commit, e.g. `starphleet 0.1.0 (commit 0123abc..., modified)`. */
export function versionLine(): string {
  const commit = sourceCommit();
  const dirty = !import.meta.url.endsWith('.ts') && readBuildInfo()?.dirty === true;
  return `starphleet ${VERSION} (${commit ? `commit ${commit}${dirty ? ', with uncommitted changes' : ''}` : 'commit unknown'})`;
}
