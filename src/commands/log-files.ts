import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

/** The log files of a service (<data>/logs/<service>/), as `starphleet logs` and the dashboard read them. */

export interface LogFile {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

/** One stream `logs` shows: a file and the label its lines get (web.1, worker.1, cron, build). */
export interface LogSource {
  readonly label: string;
  readonly path: string;
}

/** The current `.log` files of a log dir, oldest change first (rotated copies, .log.1, are history). */
export async function logFiles(dir: string): Promise<LogFile[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const files: LogFile[] = [];
  for (const name of names) {
    if (!name.endsWith('.log')) continue;
    const st = await stat(join(dir, name)).catch(() => null);
    if (st?.isFile()) files.push({ name, path: join(dir, name), size: st.size, mtimeMs: st.mtimeMs });
  }
  return files.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
}

/**
 * instance-<release id>-<place>.log of an instance place (web.1, worker.1; `cron` for cron runs), or
 * instance-<release id>.log of a ship from before per-instance logs. A release id is `<14 digits>-<sha7>[-<n>]`.
 */
const INSTANCE_LOG = /^instance-([0-9]{14}-[0-9a-f]{7}(?:-[0-9]+)?)(?:-([A-Za-z0-9_.-]+))?\.log$/;

export function parseInstanceLog(name: string): { release: string; place: string } | null {
  const m = INSTANCE_LOG.exec(name);
  return m ? { release: m[1] as string, place: m[2] ?? 'instance' } : null;
}

const byPlace = (a: LogSource, b: LogSource): number => a.label.localeCompare(b.label, 'en', { numeric: true });

/** Every instance log of one release, labelled by place, in place order (web.1, web.2, worker.1). */
export function releaseSources(files: readonly LogFile[], release: string): LogSource[] {
  return files.flatMap((f) => {
    const p = parseInstanceLog(f.name);
    return p && p.release === release ? [{ label: p.place, path: f.path }] : [];
  }).sort(byPlace);
}

/** The release whose instance log changed last (what ran most recently when nothing serves). */
export function newestRelease(files: readonly LogFile[]): string | null {
  for (let i = files.length - 1; i >= 0; i--) {
    const p = parseInstanceLog((files[i] as LogFile).name);
    if (p) return p.release;
  }
  return null;
}

/** The last `lines` lines of a file from offset `from` on (reading at most its final 1 MiB), and the offset it read up to. */
export async function tail(path: string, lines: number, from = 0): Promise<{ lines: string[]; end: number }> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const start = Math.min(size, Math.max(from, size - (1 << 20)));
    const buf = Buffer.alloc(size - start);
    const { bytesRead } = await fh.read(buf, 0, buf.length, start);
    const text = buf.subarray(0, bytesRead).toString('utf8');
    // A last line without its newline yet is left to the follower (it prints complete lines).
    const cut = text.lastIndexOf('\n') + 1;
    const all = text.slice(0, cut).split('\n');
    all.pop();
    return { lines: lines === 0 ? [] : all.slice(-lines), end: start + Buffer.byteLength(text.slice(0, cut)) };
  } finally {
    await fh.close();
  }
}

export function readRange(path: string, start: number, end: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(path, { start, end: end - 1 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      .on('error', reject);
  });
}

/**
 * Where the instance now in a place began writing: the start of the ship's last `starphleet: started <place>` note
 * (deploy/launch.ts) in the file's final 1 MiB, else 0. A file can hold earlier runs of its place (crash restarts, a
 * reused release that served before): following from there shows this run whole, without the history.
 */
export async function lastStartOffset(path: string, place: string): Promise<number> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch {
    return 0;
  }
  try {
    const { size } = await fh.stat();
    const start = Math.max(0, size - (1 << 20));
    const buf = Buffer.alloc(size - start);
    await fh.read(buf, 0, buf.length, start);
    const at = buf.lastIndexOf(` starphleet: started ${place} of release `);
    if (at < 0) return 0;
    const lineStart = buf.lastIndexOf(0x0a, at) + 1;
    return start + lineStart;
  } finally {
    await fh.close();
  }
}
