import { readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** What a log file's name says: logs/<service>/instance-<release>-<place>.log, build-<release>.log, ... */
export interface LogFileMeta {
  readonly path: string;
  readonly file: string;
  readonly service: string;
  readonly release: string;
  readonly process: string;
  readonly kind: string;
}

const NAMED = /^(instance|build)-([0-9]{14}-[0-9a-f]{7}(?:-[0-9]+)?)(?:-([A-Za-z0-9_.-]+))?\.log$/;

export function metaOf(root: string, service: string, file: string): LogFileMeta {
  const path = join(root, service, file);
  const m = NAMED.exec(file);
  if (!m) return { path, file, service, release: '-', process: '-', kind: file.replace(/\.log$/, '').split('-')[0] || 'log' };
  const kind = m[1] as string;
  return { path, file, service, release: m[2] as string, process: kind === 'build' ? 'build' : (m[3] ?? 'web'), kind };
}

/** Every current `.log` of every service (rotated copies `.log.N` are read only when their file was rotated). */
export async function listLogFiles(root: string): Promise<{ meta: LogFileMeta; size: number }[]> {
  const out: { meta: LogFileMeta; size: number }[] = [];
  for (const service of await readdir(root).catch(() => [] as string[])) {
    for (const file of await readdir(join(root, service)).catch(() => [] as string[])) {
      if (!file.endsWith('.log')) continue;
      const st = await stat(join(root, service, file)).catch(() => null);
      if (st?.isFile()) out.push({ meta: metaOf(root, service, file), size: st.size });
    }
  }
  return out;
}
