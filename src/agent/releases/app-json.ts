import { parseCronSchedule } from '../../util/cron-schedule.js';
import { findNodeAtLocation, parse as parseJsonc, parseTree, printParseErrorCode, type Node as JsonNode, type ParseError } from 'jsonc-parser';
import { BuildFailure } from './buildpacks.js';
import { readRepoFile } from './repo-file.js';
import { parseDuration } from '../../util/duration.js';
import { MAX_RELEASE_PAUSE_S } from '../../headquarters/traffic-orders.js';

/** One `healthchecks.web[]` entry of type startup, with Dokku's defaults filled in. */
export interface StartupCheck {
  readonly path: string;
  /** The body must contain this, when given. */
  readonly content?: string;
  /** Seconds one try may take. */
  readonly timeoutSeconds: number;
  /** Definite answers (an HTTP status that is not 200, or the wrong body) on this many tries in a row fail the release. */
  readonly attempts: number;
  /** Seconds between tries. */
  readonly waitSeconds: number;
  /** Seconds before the first try. */
  readonly initialDelaySeconds: number;
}

export interface CronEntry {
  readonly command: string;
  readonly schedule: string;
}

/** What starphleet uses of Heroku's app.json manifest, as Dokku reads it; other keys are ignored. */
export interface AppManifest {
  readonly healthchecks: readonly StartupCheck[];
  readonly predeploy?: string;
  readonly postdeploy?: string;
  /** `scripts.release_pause` (#34): seconds a request may be held around the release command; null: the ship's default. */
  readonly releasePause?: number | null;
  /** Instances per process type (`formation.<type>.quantity`). */
  readonly formation: Readonly<Record<string, number>>;
  readonly cron: readonly CronEntry[];
}

export const EMPTY_MANIFEST: AppManifest = { healthchecks: [], formation: {}, cron: [] };

export const CHECK_DEFAULTS = { timeoutSeconds: 5, attempts: 5, waitSeconds: 2, initialDelaySeconds: 0 } as const;

/** 1-based line and column of a character offset. */
function lineCol(text: string, pos: number): string {
  const before = text.slice(0, pos).split('\n');
  return `${before.length}:${(before[before.length - 1]?.length ?? 0) + 1}`;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

type KeyPath = readonly (string | number)[];

/** `healthchecks.web[0].path`, as the error names a key. */
function keyName(path: KeyPath): string {
  if (path.length === 0) return '(top level)';
  return path.map((k, i) => (typeof k === 'number' ? `[${k}]` : i === 0 ? k : `.${k}`)).join('');
}

/** Reads values of the parsed manifest; a wrong one fails naming the file, the line of the key and the key. */
class Reader {
  constructor(
    private readonly file: string,
    private readonly text: string,
    private readonly tree: JsonNode | undefined,
  ) {}
  fail(path: KeyPath, expected: string, got: unknown): never {
    const node = this.tree ? findNodeAtLocation(this.tree, [...path]) : undefined;
    // The key's own line (its property node), or the value's, or the nearest parent's.
    const at = node?.parent?.type === 'property' ? node.parent.offset : node?.offset ?? this.nearest(path);
    throw new BuildFailure(`${this.file}:${lineCol(this.text, at)}: ${keyName(path)}: expected ${expected}, got ${JSON.stringify(got)?.slice(0, 60) ?? String(got)}`);
  }
  private nearest(path: KeyPath): number {
    for (let n = path.length - 1; n >= 0; n--) {
      const node = this.tree ? findNodeAtLocation(this.tree, [...path.slice(0, n)]) : undefined;
      if (node) return node.parent?.type === 'property' ? node.parent.offset : node.offset;
    }
    return 0;
  }
  str(o: Obj, k: string, where: KeyPath): string | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') this.fail([...where, k], 'a non-empty string', v);
    return v;
  }
  num(o: Obj, k: string, where: KeyPath, min: number, dflt: number): number {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail([...where, k], `a number >= ${min}`, v);
    return v;
  }
}

/** Parses app.json text (JSONC); malformed text or a known key of the wrong shape fails naming the file, line and key. */
/**
 * `scripts.release_pause`: true (the ship's STARPHLEET_RELEASE_PAUSE), seconds, or a duration such as "90s", at most
 * an hour; what the orders verb `release_pause` takes (HQ's orders win when both are given).
 */
function releasePauseOf(r: Reader, v: unknown): number | null | undefined {
  if (v === undefined || v === false) return undefined;
  if (v === true) return null;
  const s = typeof v === 'number' ? (v > 0 && v <= MAX_RELEASE_PAUSE_S ? v : null) : typeof v === 'string' ? parseDuration(v, MAX_RELEASE_PAUSE_S) : null;
  return s ?? r.fail(['scripts', 'release_pause'], `true, or seconds (a number, or "90s", "2m") up to ${MAX_RELEASE_PAUSE_S}`, v);
}

export function parseAppJson(text: string, file = 'app.json'): AppManifest {
  // JSON with comments and trailing commas, as Dokku reads it (its samples carry `//` comments). jsonc-parser also says
  // where a parse failed, which Node 20's JSON.parse often does not.
  const errors: ParseError[] = [];
  const options = { disallowComments: false, allowTrailingComma: true, allowEmptyContent: false };
  const root: unknown = parseJsonc(text, errors, options);
  const first = errors[0];
  if (first) throw new BuildFailure(`${file}:${lineCol(text, first.offset)}: not valid JSON: ${printParseErrorCode(first.error)}`);
  const r: Reader = new Reader(file, text, parseTree(text, [], options));
  if (!isObj(root)) r.fail([], 'an object', root);
  const healthchecks: StartupCheck[] = [];
  const hc = root.healthchecks;
  if (hc !== undefined) {
    if (!isObj(hc)) r.fail(['healthchecks'], 'an object of process types', hc);
    const web = hc.web;
    if (web !== undefined) {
      if (!Array.isArray(web)) r.fail(['healthchecks', 'web'], 'an array', web);
      web.forEach((c: unknown, i) => {
        const where = ['healthchecks', 'web', i];
        if (!isObj(c)) r.fail(where, 'an object', c);
        const type = r.str(c, 'type', where) ?? 'startup';
        // liveness and readiness checks are for a running process: starphleet gates a deploy on startup checks.
        if (type !== 'startup') return;
        const path = r.str(c, 'path', where) ?? '/';
        if (!path.startsWith('/') || /\s/.test(path)) r.fail([...where, 'path'], 'a URL path such as /health', path);
        const content = r.str(c, 'content', where);
        healthchecks.push({
          path,
          ...(content !== undefined ? { content } : {}),
          timeoutSeconds: r.num(c, 'timeout', where, 1, CHECK_DEFAULTS.timeoutSeconds),
          attempts: Math.floor(r.num(c, 'attempts', where, 1, CHECK_DEFAULTS.attempts)),
          waitSeconds: r.num(c, 'wait', where, 0, CHECK_DEFAULTS.waitSeconds),
          initialDelaySeconds: r.num(c, 'initialDelay', where, 0, CHECK_DEFAULTS.initialDelaySeconds),
        });
      });
    }
  }
  let predeploy: string | undefined;
  let postdeploy: string | undefined;
  let releasePause: number | null | undefined;
  const scripts = root.scripts;
  if (scripts !== undefined) {
    if (!isObj(scripts)) r.fail(['scripts'], 'an object', scripts);
    const dokku = scripts.dokku;
    if (dokku !== undefined) {
      if (!isObj(dokku)) r.fail(['scripts', 'dokku'], 'an object', dokku);
      predeploy = r.str(dokku, 'predeploy', ['scripts', 'dokku']);
      postdeploy = r.str(dokku, 'postdeploy', ['scripts', 'dokku']);
    }
    // Heroku's own key: run once the release serves, when Dokku's is not given.
    postdeploy ??= r.str(scripts, 'postdeploy', ['scripts']);
    releasePause = releasePauseOf(r, scripts.release_pause);
  }
  const formation: Record<string, number> = {};
  const f = root.formation;
  if (f !== undefined) {
    if (!isObj(f)) r.fail(['formation'], 'an object of process types', f);
    for (const [type, v] of Object.entries(f)) {
      if (!/^[A-Za-z0-9_-]+$/.test(type)) r.fail(['formation', type], 'a process type name (letters, digits, _ and -)', type);
      if (!isObj(v)) r.fail(['formation', type], 'an object such as {"quantity": 1}', v);
      const q = v.quantity;
      if (q === undefined) continue;
      if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q > 32) r.fail(['formation', type, 'quantity'], 'a whole number from 0 to 32', q);
      formation[type] = q;
    }
  }
  const cron: CronEntry[] = [];
  if (root.cron !== undefined) {
    if (!Array.isArray(root.cron)) r.fail(['cron'], 'an array of {command, schedule}', root.cron);
    root.cron.forEach((c: unknown, i) => {
      const where = ['cron', i];
      if (!isObj(c)) r.fail(where, 'an object {command, schedule}', c);
      const command = r.str(c, 'command', where) ?? r.fail([...where, 'command'], 'a command', undefined);
      const schedule = r.str(c, 'schedule', where) ?? r.fail([...where, 'schedule'], 'a cron schedule', undefined);
      const parsed = parseCronSchedule(schedule);
      if ('error' in parsed) r.fail([...where, 'schedule'], `a cron schedule (${parsed.error})`, schedule);
      if (parsed.kind === 'reboot') r.fail([...where, 'schedule'], 'a cron schedule that repeats (@reboot is for HQ jobs)', schedule);
      cron.push({ command, schedule });
    });
  }
  return { healthchecks, ...(predeploy !== undefined ? { predeploy } : {}), ...(postdeploy !== undefined ? { postdeploy } : {}), ...(releasePause !== undefined ? { releasePause } : {}), formation, cron };
}

/** The app's app.json at the root of its tree, or the empty manifest when there is none. */
export async function readAppJson(appDir: string): Promise<AppManifest> {
  let text: string | null;
  try {
    text = await readRepoFile(appDir, 'app.json');
  } catch (e) {
    throw new BuildFailure((e as Error).message);
  }
  return text === null ? EMPTY_MANIFEST : parseAppJson(text);
}
