import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { insideRoot, SAFE_NAME } from '../paths.js';
import { dataPaths } from '../data-dir/data-paths.js';
import { formationOf } from '../agent/deploy/formation.js';
import { abortableSleep } from '../util/abortable-sleep.js';
import { listDeployRecords } from '../state/deploys.js';
import { visible } from '../util/terminal-safe.js';
import type { CommandContext, ShipCommand } from './command.js';
import { admiralAsked, splitProof } from './phleet/phleet-proof.js';
import { lastStartOffset, logFiles, newestRelease, readRange, releaseSources, tail, type LogFile, type LogSource } from './log-files.js';
import { logsMeta } from './meta/service-meta.js';

const USAGE = 'usage: starphleet logs <service> [-f] [-n LINES] [--instance PLACE] [--release ID] [--build] [--raw]';
const FOLLOW_INTERVAL_MS = 250;

interface Options {
  follow: boolean;
  lines: number;
  instance: string | null;
  release: string | null;
  build: boolean;
  raw: boolean;
}

/** What `logs` looks at: a fixed set (a named release, the build log) or whatever serves at each look. */
interface Selection {
  /** The streams now, and a line that says what they are. */
  sources(): Promise<{ head: string; sources: LogSource[] } | { error: string }>;
  /** true: the set follows the deploys (serving instances); false: it never changes. */
  readonly moving: boolean;
}

function parseArgs(args: readonly string[], ctx: CommandContext): { service: string; o: Options } | number {
  const o: Options = { follow: false, lines: 100, instance: null, release: null, build: false, raw: false };
  const rest: string[] = [];
  const value = (i: number, flag: string): string | null => {
    const v = args[i];
    if (v === undefined || v.startsWith('-')) {
      ctx.err(`starphleet logs: ${flag} needs a value\n${USAGE}\n`);
      return null;
    }
    return v;
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '-f' || a === '--follow') o.follow = true;
    else if (a === '--build') o.build = true;
    else if (a === '--raw') o.raw = true;
    else if (a === '-n' || a === '--lines') {
      const n = Number(args[++i]);
      if (!Number.isInteger(n) || n < 0) {
        ctx.err(`starphleet logs: -n needs a whole number\n${USAGE}\n`);
        return 2;
      }
      o.lines = n;
    } else if (a === '--instance' || a === '--release') {
      const v = value(++i, a);
      if (v === null) return 2;
      if (a === '--instance') o.instance = v;
      else o.release = v;
    } else if (a.startsWith('-')) {
      ctx.err(`starphleet logs: unknown option ${a}\n${USAGE}\n`);
      return 2;
    } else rest.push(a);
  }
  const [service] = rest;
  if (rest.length !== 1 || service === undefined) {
    ctx.err(`${USAGE}\n`);
    return 2;
  }
  if (o.build && o.instance !== null) {
    ctx.err(`starphleet logs: --build and --instance name different logs\n${USAGE}\n`);
    return 2;
  }
  return { service, o };
}

const exists = (path: string): Promise<boolean> => stat(path).then((s) => s.isFile(), () => false);

/**
 * The instance places of the release that serves now (what its formation runs: web.1, web.2, worker.1...) and its
 * cron runs; with no release serving, the places of the release that ran last.
 */
async function servingSources(ctx: CommandContext, service: string, dir: string): Promise<{ head: string; sources: LogSource[] }> {
  const release = ctx.ship.agent.servingOf(service);
  const files = await logFiles(dir);
  if (!release) {
    const last = newestRelease(files);
    if (last === null) return { head: `(no logs yet for ${service})`, sources: [] };
    return { head: `${service} serves nothing now: release ${last}, which ran last`, sources: releaseSources(files, last) };
  }
  const id = release.config.id;
  const scale = ctx.ship.headquarters.current?.services.find((s) => s.name === service)?.orders.scale;
  const places = formationOf(release, scale).flatMap((f) => Array.from({ length: f.count }, (_, i) => `${f.process}.${i + 1}`));
  const sources: LogSource[] = [];
  for (const place of [...places, 'cron']) {
    const path = join(dir, `instance-${id}-${place}.log`);
    if (await exists(path)) sources.push({ label: place, path });
  }
  return { head: `${service} release ${id} serves: ${places.join(', ') || 'no process'}`, sources };
}

/** What the options ask for; a named release or place that does not exist is an error that names what does. */
function select(ctx: CommandContext, service: string, dir: string, o: Options): Selection {
  const only = (s: { head: string; sources: LogSource[] }): { head: string; sources: LogSource[] } | { error: string } => {
    if (o.instance === null) return s;
    const hit = s.sources.filter((x) => x.label === o.instance);
    if (hit.length > 0) return { head: s.head, sources: hit };
    return { error: `no instance ${o.instance} here (${s.sources.map((x) => x.label).join(', ') || 'no instance log'}); ${s.head}` };
  };
  if (o.build) {
    return {
      moving: false,
      async sources() {
        const files = (await logFiles(dir)).filter((f) => f.name.startsWith('build-'));
        const f: LogFile | undefined = o.release !== null ? files.find((x) => x.name === `build-${o.release}.log`) : files[files.length - 1];
        if (!f) return { error: o.release !== null ? `no build log of release ${o.release}` : `no build log yet for ${service}` };
        return { head: `${f.name}`, sources: [{ label: 'build', path: f.path }] };
      },
    };
  }
  if (o.release !== null) {
    const id = o.release;
    return {
      moving: false,
      async sources() {
        const s = releaseSources(await logFiles(dir), id);
        if (s.length === 0) return { error: `no instance logs of release ${id} (starphleet releases ${service} lists them)` };
        return only({ head: `${service} release ${id}`, sources: s });
      },
    };
  }
  return { moving: true, sources: async () => only(await servingSources(ctx, service, dir)) };
}

/** Prints complete lines only, each with its stream's label; a partial last line waits for its end. */
class LabelledOut {
  private readonly partial = new Map<string, string>();

  constructor(
    private readonly ctx: CommandContext,
    private readonly raw: boolean,
  ) {}

  lines(label: string, lines: readonly string[]): void {
    // What a service printed is the service's, not the admiral's terminal's (src/util/terminal-safe.ts).
    if (lines.length > 0) this.ctx.out(lines.map((l) => `${label} | ${this.raw ? l : visible(l)}\n`).join(''));
  }

  chunk(s: LogSource, text: string): void {
    const parts = ((this.partial.get(s.path) ?? '') + text).split('\n');
    this.partial.set(s.path, parts.pop() ?? '');
    this.lines(s.label, parts);
  }

  flush(s: LogSource): void {
    const rest = this.partial.get(s.path) ?? '';
    this.partial.delete(s.path);
    if (rest !== '') this.lines(s.label, [rest]);
  }
}

/**
 * Prints what is appended to the selected logs until the caller goes away. For the serving instances the set is
 * looked up again every round: at a deploy's switch the old ones are read to their end once, and the new ones from
 * where their instance started (lastStartOffset), so the lines they wrote while starting are not lost.
 */
async function follow(ctx: CommandContext, sel: Selection, first: readonly LogSource[], offsets: Map<string, number>, raw: boolean): Promise<void> {
  const out = new LabelledOut(ctx, raw);
  let current = [...first];
  const readOn = async (s: LogSource): Promise<void> => {
    const size = await stat(s.path).then((st) => st.size, () => 0);
    let from = offsets.get(s.path) ?? 0;
    if (size < from) from = 0; // rotated or truncated: start again from its beginning
    if (size <= from) return;
    out.chunk(s, await readRange(s.path, from, size));
    offsets.set(s.path, size);
  };
  while (!ctx.signal.aborted) {
    if (sel.moving) {
      const now = await sel.sources();
      if (!('error' in now)) {
        const paths = new Set(now.sources.map((s) => s.path));
        const gone = current.filter((s) => !paths.has(s.path));
        const fresh = now.sources.filter((s) => !offsets.has(s.path));
        for (const s of gone) {
          await readOn(s);
          out.flush(s);
          offsets.delete(s.path);
        }
        for (const s of fresh) offsets.set(s.path, await lastStartOffset(s.path, s.label));
        if (fresh.length > 0 || gone.length > 0) ctx.out(`==> ${now.head} <==\n`);
        current = now.sources;
      }
    }
    for (const s of current) await readOn(s);
    await abortableSleep(FOLLOW_INTERVAL_MS, ctx.signal);
  }
}

export const logsCommand: ShipCommand = {
  ...logsMeta,
  async run(argv, ctx) {
    const { args, proof } = splitProof(argv);
    const parsed = parseArgs(args, ctx);
    if (typeof parsed === 'number') return parsed;
    const { service, o } = parsed;
    if (proof !== undefined && !(await admiralAsked(proof, o.follow ? 'logs-follow' : 'logs', service, ctx))) return 1;
    const root = dataPaths.logsRoot(ctx.ship.options.dataDir);
    const dir = SAFE_NAME.test(service) ? insideRoot(root, service) : null;
    if (dir === null) {
      ctx.err(`starphleet logs: not a service name: ${JSON.stringify(service)}\n`);
      return 2;
    }
    const known = ctx.ship.headquarters.current?.services.some((s) => s.name === service) ?? false;
    if (!known && (await logFiles(dir)).length === 0) {
      ctx.err(`starphleet logs: no service named ${service}\n`);
      return 1;
    }
    const sel = select(ctx, service, dir, o);
    const now = await sel.sources();
    if ('error' in now) {
      ctx.err(`starphleet logs: ${now.error}\n`);
      return 1;
    }
    ctx.out(`==> ${now.head} <==\n`);
    if (sel.moving) {
      // The instances that serve are not where a failed deploy's output is: say where it is.
      // The newest deploy that ended (a retry may be running meanwhile).
      const last = listDeployRecords(ctx.ship.db, service).find((d) => d.result !== 'running');
      if (last?.result === 'failed') ctx.out(`==> the last deploy (${last.sha.slice(0, 7)}) failed: its output is in starphleet logs ${service} ${last.release ? `--release ${last.release}` : '--build'} <==\n`);
    }
    const out = new LabelledOut(ctx, o.raw);
    const offsets = new Map<string, number>();
    for (const s of now.sources) {
      // What serves now: each place from its instance's start (a reused release's file holds its earlier runs too,
      // which --release shows whole).
      const t = await tail(s.path, o.lines, sel.moving ? await lastStartOffset(s.path, s.label) : 0);
      out.lines(s.label, t.lines);
      offsets.set(s.path, t.end);
    }
    if (o.follow) await follow(ctx, sel, now.sources, offsets, o.raw);
    return 0;
  },
};
