import { readServiceFile } from '../sandbox/service-files.js';
import { CronExpressionParser } from 'cron-parser';
import { parse as parseJsonc, printParseErrorCode, type ParseError } from 'jsonc-parser';
import { BuildFailure } from './buildpacks.js';

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

class Reader {
  constructor(private readonly file: string) {}
  fail(key: string, expected: string, got: unknown): never {
    throw new BuildFailure(`${this.file}: ${key}: expected ${expected}, got ${JSON.stringify(got)?.slice(0, 60) ?? String(got)}`);
  }
  str(o: Obj, k: string, where: string): string | undefined {
    const v = o[k];
    if (v === undefined) return undefined;
    if (typeof v !== 'string' || v.trim() === '') this.fail(`${where}.${k}`, 'a non-empty string', v);
    return v;
  }
  num(o: Obj, k: string, where: string, min: number, dflt: number): number {
    const v = o[k];
    if (v === undefined) return dflt;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < min) this.fail(`${where}.${k}`, `a number >= ${min}`, v);
    return v;
  }
}

/** Parses app.json text; malformed JSON or a known key of the wrong shape fails naming the file and where. */
export function parseAppJson(text: string, file = 'app.json'): AppManifest {
  // jsonc-parser, strict (no comments, no trailing commas): Node 20's JSON.parse does not always say where it failed.
  const errors: ParseError[] = [];
  const root: unknown = parseJsonc(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false });
  const first = errors[0];
  if (first) throw new BuildFailure(`${file}:${lineCol(text, first.offset)}: not valid JSON: ${printParseErrorCode(first.error)}`);
  const r: Reader = new Reader(file);
  if (!isObj(root)) r.fail('(top level)', 'an object', root);
  const healthchecks: StartupCheck[] = [];
  const hc = root.healthchecks;
  if (hc !== undefined) {
    if (!isObj(hc)) r.fail('healthchecks', 'an object of process types', hc);
    const web = hc.web;
    if (web !== undefined) {
      if (!Array.isArray(web)) r.fail('healthchecks.web', 'an array', web);
      web.forEach((c: unknown, i) => {
        const where = `healthchecks.web[${i}]`;
        if (!isObj(c)) r.fail(where, 'an object', c);
        const type = r.str(c, 'type', where) ?? 'startup';
        // liveness and readiness checks are for a running process: starphleet gates a deploy on startup checks.
        if (type !== 'startup') return;
        const path = r.str(c, 'path', where) ?? '/';
        if (!path.startsWith('/') || /\s/.test(path)) r.fail(`${where}.path`, 'a URL path such as /health', path);
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
  const scripts = root.scripts;
  if (scripts !== undefined) {
    if (!isObj(scripts)) r.fail('scripts', 'an object', scripts);
    const dokku = scripts.dokku;
    if (dokku !== undefined) {
      if (!isObj(dokku)) r.fail('scripts.dokku', 'an object', dokku);
      predeploy = r.str(dokku, 'predeploy', 'scripts.dokku');
      postdeploy = r.str(dokku, 'postdeploy', 'scripts.dokku');
    }
    // Heroku's own key: run once the release serves, when Dokku's is not given.
    postdeploy ??= r.str(scripts, 'postdeploy', 'scripts');
  }
  const formation: Record<string, number> = {};
  const f = root.formation;
  if (f !== undefined) {
    if (!isObj(f)) r.fail('formation', 'an object of process types', f);
    for (const [type, v] of Object.entries(f)) {
      if (!/^[A-Za-z0-9_-]+$/.test(type)) r.fail(`formation.${type}`, 'a process type name (letters, digits, _ and -)', type);
      if (!isObj(v)) r.fail(`formation.${type}`, 'an object such as {"quantity": 1}', v);
      const q = v.quantity;
      if (q === undefined) continue;
      if (typeof q !== 'number' || !Number.isInteger(q) || q < 0 || q > 32) r.fail(`formation.${type}.quantity`, 'a whole number from 0 to 32', q);
      formation[type] = q;
    }
  }
  const cron: CronEntry[] = [];
  if (root.cron !== undefined) {
    if (!Array.isArray(root.cron)) r.fail('cron', 'an array of {command, schedule}', root.cron);
    root.cron.forEach((c: unknown, i) => {
      const where = `cron[${i}]`;
      if (!isObj(c)) r.fail(where, 'an object {command, schedule}', c);
      const command = r.str(c, 'command', where) ?? r.fail(`${where}.command`, 'a command', undefined);
      const schedule = r.str(c, 'schedule', where) ?? r.fail(`${where}.schedule`, 'a cron schedule', undefined);
      try {
        CronExpressionParser.parse(schedule);
      } catch (e) {
        r.fail(`${where}.schedule`, `a cron schedule (${(e as Error).message})`, schedule);
      }
      cron.push({ command, schedule });
    });
  }
  return { healthchecks, ...(predeploy !== undefined ? { predeploy } : {}), ...(postdeploy !== undefined ? { postdeploy } : {}), formation, cron };
}

/** The app's app.json at the root of its tree, or the empty manifest when there is none. */
export async function readAppJson(appDir: string): Promise<AppManifest> {
  // Written by the app's build scripts: a symlink there (to a file of the ship) is refused, never followed.
  const text = await readServiceFile(appDir, 'app.json');
  return text === null ? EMPTY_MANIFEST : parseAppJson(text);
}
