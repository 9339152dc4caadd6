import { readRepoFile } from './repo-file.js';
import type { LineSink } from '../types.js';

/** The built-in buildpacks, tried in this order when nothing names one (see buildpacks/README.md). */
export const BUILTIN_BUILDPACKS = ['node', 'go', 'python', 'static', 'procfile'] as const;
export type BuiltinName = (typeof BUILTIN_BUILDPACKS)[number];

/** Heroku's registry names for the languages the ship builds itself: a `.buildpacks` written for Heroku runs here. */
const HEROKU_NAMES: Readonly<Record<string, BuiltinName>> = { 'heroku/nodejs': 'node', 'heroku/go': 'go', 'heroku/python': 'python' };

/** One buildpack an app asked for, and who asked: what the repo names is fetched without the ship's credentials. */
export interface BuildpackChoice {
  /** A built-in name, a Heroku name of one, or a git URL with an optional `#ref`. */
  readonly spec: string;
  /** Where it was named, for messages: `BUILDPACK_URL (HQ)`, `.buildpacks:2`. */
  readonly where: string;
  /** Named by HQ (orders or .starphleet): fetched with the ship's git access. Otherwise only public URLs. */
  readonly trusted: boolean;
}

/** The built-in a spec names (`node`, `heroku/nodejs`), or null when it is a URL. */
export function builtinOf(spec: string): BuiltinName | null {
  if ((BUILTIN_BUILDPACKS as readonly string[]).includes(spec)) return spec as BuiltinName;
  return HEROKU_NAMES[spec] ?? null;
}

/** BUILDPACK_URL may list several buildpacks, separated by white space or commas (as Heroku's multi-buildpack did). */
export function splitBuildpackUrl(value: string): string[] {
  return value.split(/[\s,]+/).filter((s) => s !== '');
}

/**
 * What builds the app, in order: BUILDPACK_URL (HQ's, or else the repo's .env), else the repo's `.buildpacks` (one
 * URL or built-in name a line, `#` comment lines), else nothing (the built-ins are detected).
 */
export async function chosenBuildpacks(buildDir: string, url: { value: string; fromHq: boolean } | undefined, log: LineSink): Promise<BuildpackChoice[]> {
  if (url !== undefined && url.value.trim() !== '') {
    const where = url.fromHq ? 'BUILDPACK_URL (HQ)' : "BUILDPACK_URL (the repo's .env)";
    return splitBuildpackUrl(url.value).map((spec) => ({ spec, where, trusted: url.fromHq }));
  }
  const text = await readRepoFile(buildDir, '.buildpacks');
  if (text === null) return [];
  const out: BuildpackChoice[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    out.push({ spec: line, where: `.buildpacks:${i + 1}`, trusted: false });
  });
  if (out.length === 0) log('warning: .buildpacks names no buildpack: the built-ins are detected');
  return out;
}
