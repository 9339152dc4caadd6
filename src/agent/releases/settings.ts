import { BuildFailure } from './buildpacks.js';
import { parseProcfile, type BuildpackRelease } from './procfile.js';
import { readRepoFile } from './repo-file.js';
import { numberSetting, POSITIVE_SECONDS } from '../../settings/number-setting.js';
import type { LineSink } from '../types.js';

/** A file at the top of the app's tree, read as hostile input (see readRepoFile); its problem fails the build. */
async function readOptional(dir: string, name: string): Promise<string | null> {
  try {
    return await readRepoFile(dir, name);
  } catch (e) {
    throw new BuildFailure((e as Error).message);
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
  const text = await readOptional(appDir, 'healthcheck');
  if (text === null) return '/';
  const lines = text.split(/\r?\n/);
  const i = lines.findIndex((l) => l.trim() !== '' && !l.trim().startsWith('#'));
  return i < 0 ? '/' : checkPath(lines[i] as string, `healthcheck:${i + 1}`);
}

export function healthcheckTimeout(env: Readonly<Record<string, string>>): number {
  return numberSetting(env.HEALTHCHECK_TIMEOUT, 'HEALTHCHECK_TIMEOUT', 60, { ...POSITIVE_SECONDS, error: (m) => new BuildFailure(m) });
}

/** The process types of a release: what runs (web, worker, ...) and the `release:` line, run once per release. */
export interface ProcessTypes {
  readonly processes: Readonly<Record<string, string>>;
  readonly release?: string;
}

/**
 * The Procfile's types over the buildpack's default ones (so a Procfile's `web:` wins); `release:` is not a process
 * but the release phase. An app with no type at all cannot run.
 */
export async function processTypes(appDir: string, release: BuildpackRelease, log: LineSink): Promise<ProcessTypes> {
  const processes: Record<string, string> = {};
  for (const [type, cmd] of Object.entries(release.defaultProcessTypes)) if (cmd.trim() !== '') processes[type] = cmd;
  const text = await readOptional(appDir, 'Procfile');
  if (text !== null) {
    const parsed = parseProcfile(text);
    for (const p of parsed.problems) log(`Procfile:${p.line}: ${p.message}`);
    if (parsed.problems.length > 0) throw new BuildFailure(`Procfile has ${parsed.problems.length} bad line(s), see Procfile:${parsed.problems[0]?.line}`);
    Object.assign(processes, parsed.processes);
  }
  const releaseCmd = processes.release;
  delete processes.release;
  if (Object.keys(processes).length === 0) throw new BuildFailure('no process to run: add a Procfile with a "web: <command>" line (or worker:, ...); the buildpack names none');
  return { processes, ...(releaseCmd !== undefined ? { release: releaseCmd } : {}) };
}
