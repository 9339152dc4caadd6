import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BuildFailure } from './buildpacks.js';
import { parseProcfile, type BuildpackRelease } from './procfile.js';
import { numberSetting, POSITIVE_SECONDS } from '../../util/number-setting.js';
import type { LineSink } from '../types.js';

async function readOptional(path: string): Promise<string | null> {
  try {
    return await readFile(path, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** A URL path the healthcheck may GET: starts with '/' (added when missing), no space, no scheme. */
function checkPath(value: string, where: string): string {
  const v = value.trim();
  if (v === '' || /\s/.test(v) || /^[a-z][a-z0-9+.-]*:/i.test(v)) throw new BuildFailure(`${where}: expected a URL path such as /health, got ${JSON.stringify(value)}`);
  return v.startsWith('/') ? v : `/${v}`;
}

/** HEALTHCHECK (env) over the repo's `healthcheck` file (its first non-comment line) over `/`. */
export async function healthcheckPath(appDir: string, env: Readonly<Record<string, string>>): Promise<string> {
  if (env.HEALTHCHECK !== undefined && env.HEALTHCHECK.trim() !== '') return checkPath(env.HEALTHCHECK, 'HEALTHCHECK');
  const text = await readOptional(join(appDir, 'healthcheck'));
  if (text === null) return '/';
  const lines = text.split(/\r?\n/);
  const i = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  return i < 0 ? '/' : checkPath(lines[i] as string, `healthcheck:${i + 1}`);
}

export function healthcheckTimeout(env: Readonly<Record<string, string>>): number {
  return numberSetting(env.HEALTHCHECK_TIMEOUT, 'HEALTHCHECK_TIMEOUT', 60, { ...POSITIVE_SECONDS, error: (m) => new BuildFailure(m) });
}

/** The Procfile's `web:` wins over the buildpack's default web process. */
export async function webCommand(appDir: string, release: BuildpackRelease, log: LineSink): Promise<string> {
  const text = await readOptional(join(appDir, 'Procfile'));
  if (text !== null) {
    const { processes, problems } = parseProcfile(text);
    for (const p of problems) log(`Procfile:${p.line}: ${p.message}`);
    if (problems.length > 0) throw new BuildFailure(`Procfile has ${problems.length} bad line(s), see Procfile:${problems[0]?.line}`);
    if (processes.web !== undefined) return processes.web;
  }
  const fallback = release.defaultProcessTypes.web;
  if (fallback !== undefined && fallback.trim() !== '') return fallback;
  throw new BuildFailure('no web process: add a Procfile with a "web: <command>" line (the buildpack names none)');
}
