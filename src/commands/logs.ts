import { createReadStream } from 'node:fs';
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { insideRoot, SAFE_NAME } from '../paths.js';
import { dataPaths } from '../agent/data-paths.js';
import { abortableSleep } from '../util/abortable-sleep.js';
import { visible } from '../util/terminal-safe.js';
import type { CommandContext, ShipCommand } from './command.js';
import { admiralAsked, splitProof } from './phleet-proof.js';

const USAGE = 'usage: starphleet logs <service> [-f] [-n LINES] [--raw]';
const FOLLOW_INTERVAL_MS = 250;

interface LogFile {
  readonly name: string;
  readonly path: string;
  readonly size: number;
  readonly mtimeMs: number;
}

async function logFiles(dir: string): Promise<LogFile[]> {
  const names = await readdir(dir).catch(() => [] as string[]);
  const files: LogFile[] = [];
  for (const name of names) {
    if (!name.endsWith('.log')) continue; // rotated copies (.log.1) are history, not what is happening now
    const st = await stat(join(dir, name)).catch(() => null);
    if (st?.isFile()) files.push({ name, path: join(dir, name), size: st.size, mtimeMs: st.mtimeMs });
  }
  return files.sort((a, b) => a.mtimeMs - b.mtimeMs || a.name.localeCompare(b.name));
}

/**
 * instance-<release id>-<type>.<n>.log (or -cron.log) of an instance; instance-<release id>.log of a ship from before
 * per-instance logs. A release id is `<14 digits>-<sha7>[-<n>]` (build-release.ts).
 */
const INSTANCE_LOG = /^instance-([0-9]{14}-[0-9a-f]{7}(?:-[0-9]+)?)(?:-[A-Za-z0-9_.-]+)?\.log$/;

/** Every instance log of the release whose instance log changed last: web.1, web.2, worker.1... in that order. */
function latestInstanceLogs(files: readonly LogFile[]): LogFile[] {
  const release = (f: LogFile): string | undefined => INSTANCE_LOG.exec(f.name)?.[1];
  const newest = files.filter((f) => release(f) !== undefined).pop();
  if (newest === undefined) return [];
  const id = release(newest);
  return files.filter((f) => release(f) === id).sort((a, b) => a.name.localeCompare(b.name, 'en', { numeric: true }));
}

/** The last `lines` lines of a file, reading at most the final 1 MiB. */
async function tail(path: string, lines: number): Promise<string> {
  const fh = await open(path, 'r');
  try {
    const { size } = await fh.stat();
    const len = Math.min(size, 1 << 20);
    const buf = Buffer.alloc(len);
    await fh.read(buf, 0, len, size - len);
    const all = buf.toString('utf8').split('\n');
    if (all[all.length - 1] === '') all.pop();
    return all.slice(-lines).join('\n') + (all.length ? '\n' : '');
  } finally {
    await fh.close();
  }
}

function readRange(path: string, start: number, end: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    createReadStream(path, { start, end: end - 1 })
      .on('data', (c) => chunks.push(c as Buffer))
      .on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
      .on('error', reject);
  });
}

/** Prints what is appended to any log of the service until the caller goes away. */
async function follow(dir: string, ctx: CommandContext, seen: Map<string, number>, out: (text: string) => void): Promise<void> {
  let last = '';
  while (!ctx.signal.aborted) {
    for (const f of await logFiles(dir)) {
      const from = seen.get(f.path) ?? 0;
      if (f.size < from) seen.set(f.path, 0); // rotated or truncated: start again from its beginning
      if (f.size <= (seen.get(f.path) ?? 0)) continue;
      const text = await readRange(f.path, seen.get(f.path) ?? 0, f.size);
      seen.set(f.path, f.size);
      if (last !== f.name) out(`==> ${f.name} <==\n`);
      last = f.name;
      out(text);
    }
    await abortableSleep(FOLLOW_INTERVAL_MS, ctx.signal);
  }
}

export const logsCommand: ShipCommand = {
  name: 'logs',
  summary: "a service's latest build and instance logs (-f follows them)",
  usage: '<service> [-f] [-n LINES] [--raw]',
  details: `Prints the last lines of the service's newest build log and of the instance logs of its newest release
(<data>/logs/<service>/), one per instance, named for its process type and number: instance-<release>-web.1.log,
instance-<release>-worker.1.log...
  -f, --follow      keep printing as the logs grow (Ctrl-C stops)
  -n, --lines N     lines of each log to show first (default 100)
  --raw             the logs' exact bytes; without it, control characters a service printed are shown as text
                    (ESC as ^[), so its output cannot drive your terminal (title, clipboard, cursor, erase)
  --proof TOKEN     an admiral's signed request: how another ship asks (starphleet phleet logs)`,
  examples: ['starphleet logs hello', 'starphleet logs hello -f -n 20'],
  async run(argv, ctx) {
    const { args, proof } = splitProof(argv);
    let followIt = false;
    let lines = 100;
    let raw = false;
    const rest: string[] = [];
    for (let i = 0; i < args.length; i++) {
      const a = args[i] as string;
      if (a === '-f' || a === '--follow') followIt = true;
      else if (a === '--raw') raw = true;
      else if (a === '-n' || a === '--lines') {
        const n = Number(args[++i]);
        if (!Number.isInteger(n) || n < 0) {
          ctx.err(`starphleet logs: -n needs a whole number\n${USAGE}\n`);
          return 2;
        }
        lines = n;
      } else rest.push(a);
    }
    const [service] = rest;
    if (rest.length !== 1 || service === undefined) {
      ctx.err(`${USAGE}\n`);
      return 2;
    }
    if (proof !== undefined && !(await admiralAsked(proof, followIt ? 'logs-follow' : 'logs', service, ctx))) return 1;
    const root = dataPaths.logsRoot(ctx.ship.options.dataDir);
    const dir = SAFE_NAME.test(service) ? insideRoot(root, service) : null;
    if (dir === null) {
      ctx.err(`starphleet logs: not a service name: ${JSON.stringify(service)}\n`);
      return 2;
    }
    const files = await logFiles(dir);
    const known = ctx.ship.headquarters.current?.services.some((s) => s.name === service) ?? false;
    if (files.length === 0 && !known) {
      ctx.err(`starphleet logs: no service named ${service}\n`);
      return 1;
    }
    const newest = (prefix: string): LogFile | undefined => files.filter((f) => f.name.startsWith(prefix)).pop();
    const build = newest('build-');
    const shown = [...(build ? [build] : []), ...latestInstanceLogs(files)];
    // What a service printed is the service's, not the admiral's terminal's (src/util/terminal-safe.ts).
    const out = raw ? ctx.out : (text: string): void => ctx.out(visible(text));
    if (shown.length === 0) ctx.out(`(no logs yet for ${service})\n`);
    for (const f of shown) out(`==> ${f.name} <==\n${await tail(f.path, lines)}`);
    if (followIt) await follow(dir, ctx, new Map(files.map((f) => [f.path, f.size])), out);
    return 0;
  },
};
