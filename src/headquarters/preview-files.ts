import { join } from 'node:path';
import { parseDotenv } from '../util/dotenv.js';
import { parseHtpasswd } from './htpasswd.js';
import { readIfFile } from './read-file.js';
import type { HtpasswdFile, PreviewEnvFile, Problem } from './types.js';

export const PREVIEWS_ENV = 'previews.env';
export const PREVIEWS_HTPASSWD = 'previews.htpasswd';
const MAX_BYTES = 64 * 1024;

function mountOf(file: string): string {
  const i = file.lastIndexOf('/');
  return i < 0 ? '/' : `/${file.slice(0, i)}`;
}

/** A name the ship sets or that would reach past the preview: refused in previews.env. */
function refusedName(name: string): string | null {
  if (name === 'STARPHLEET_PREVIEW' || name === 'PORT' || name === 'STARPHLEET_SHIP' || name.startsWith('STARPHLEET_DEPLOY_')) return `${name} is set by the ship`;
  if (name === 'PUBLISH_PORT') return 'PUBLISH_PORT: previews are never published on a port of the ship';
  return null;
}

/**
 * `<path>/previews.env`: dotenv lines (data, never run). A bad line fails the whole file, and its messages never quote
 * a value: the previews of that service hold rather than start with the production env where an override was meant.
 */
export async function readPreviewEnv(root: string, files: readonly string[], mounts: ReadonlySet<string>, problems: Problem[]): Promise<PreviewEnvFile[]> {
  const out: PreviewEnvFile[] = [];
  for (const file of files) {
    const mount = mountOf(file);
    if (!mounts.has(mount)) problems.push({ file, message: 'no orders next to this previews.env: it applies to nothing' });
    const text = await readIfFile(join(root, file));
    const fail = (message: string, line?: number): void => {
      problems.push({ file, ...(line !== undefined ? { line } : {}), message });
      out.push({ mount, file, env: {}, problem: line !== undefined ? `line ${line}: ${message}` : message });
    };
    if (text === null) {
      fail('not a plain file (a symlink?): not read; the previews of its service hold');
      continue;
    }
    if (Buffer.byteLength(text) > MAX_BYTES) {
      fail(`larger than ${MAX_BYTES} bytes: not read; the previews of its service hold`);
      continue;
    }
    const parsed = parseDotenv(text);
    const first = parsed.problems[0];
    if (first) {
      // The parser quotes the line; a previews.env holds credentials too, so only the line number is said.
      fail(/^expected KEY=value/.test(first.message) ? 'expected NAME=value' : first.message.replace(/(unexpected text after the closing quote).*$/, '$1'), first.line);
      continue;
    }
    const refused = Object.keys(parsed.env).map(refusedName).find((r) => r !== null);
    if (refused) {
      fail(refused);
      continue;
    }
    out.push({ mount, file, env: parsed.env, problem: null });
  }
  return out;
}

/** `<path>/previews.htpasswd`, read like a .htpasswd; one that cannot be read lets nobody in (fail closed). */
export async function readPreviewHtpasswd(root: string, files: readonly string[], mounts: ReadonlySet<string>, problems: Problem[]): Promise<HtpasswdFile[]> {
  const out: HtpasswdFile[] = [];
  for (const file of files) {
    const mount = mountOf(file);
    if (!mounts.has(mount)) problems.push({ file, message: 'no orders next to this previews.htpasswd: it protects nothing' });
    const text = await readIfFile(join(root, file));
    if (text === null) problems.push({ file, message: 'not a plain file (a symlink?): not read; nobody gets into the previews of its service' });
    const r = parseHtpasswd(text ?? '', file);
    problems.push(...r.problems);
    out.push({ mount, file, entries: r.entries });
  }
  return out;
}
