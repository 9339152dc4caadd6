import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** The package root: one level above `src/` (tsx) or `dist/` (built). */
export const PACKAGE_ROOT = fileURLToPath(new URL('..', import.meta.url));

interface PackageJson {
  readonly version: string;
  readonly repository?: { readonly url?: string } | string;
}

export const PACKAGE: PackageJson = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as PackageJson;

export const VERSION: string = PACKAGE.version;
