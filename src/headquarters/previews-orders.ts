import type { VerbCall } from './bash-eval.js';
import type { PreviewOrders, Problem } from './types.js';

/**
 * The orders verb `previews [pattern...] [--max N] [--ttl 7d|off] [--secrets]` (docs/previews.md), and which refs of
 * the service repo its patterns name. The defaults bound what a repo with many branches can start on a ship.
 */
export const PREVIEW_DEFAULT_MAX = 10;
export const PREVIEW_DEFAULT_TTL_SECONDS = 7 * 86_400;
const MAX_MAX = 1000;
const MAX_TTL_SECONDS = 366 * 86_400;
const UNITS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600, d: 86_400, w: 604_800 };

/**
 * A pattern is a git ref name with `*`, `**` and `?`, optionally `!` first: printable ASCII without the characters git
 * refuses in ref names (space, `~ ^ : \ [`), no `..`, not starting with `-` (it would read as a flag).
 */
const PATTERN = /^!?(?!-)(?!.*\.\.)[\x21-\x7e]{1,200}$/;
const REFUSED = /[~^:\\[\s]/;

function durationSeconds(raw: string): number | null {
  const m = /^(\d{1,6})([smhdw])$/.exec(raw);
  if (!m) return null;
  const s = Number(m[1]) * (UNITS[m[2] as string] as number);
  return s > 0 && s <= MAX_TTL_SECONDS ? s : null;
}

/** The one `previews` call of an orders file, checked; undefined when there is none or it is wrong (problems say why). */
export function previewsFrom(calls: readonly VerbCall[], file: string, problems: Problem[]): PreviewOrders | undefined {
  const all = calls.filter((c) => c.verb === 'previews');
  if (all.length === 0) return undefined;
  for (const extra of all.slice(1)) problems.push({ file, line: extra.line, message: `previews given again (first at line ${all[0]?.line})` });
  const call = all[0] as VerbCall;
  const bad = (message: string): undefined => {
    problems.push({ file, line: call.line, message: `previews ${message}` });
    return undefined;
  };
  const patterns: string[] = [];
  let max = PREVIEW_DEFAULT_MAX;
  let ttlSeconds: number | null = PREVIEW_DEFAULT_TTL_SECONDS;
  let secrets = false;
  const args = [...call.args];
  while (args.length > 0) {
    const arg = args.shift() as string;
    const eq = /^(--[a-z-]+)=(.*)$/s.exec(arg);
    const flag = eq ? (eq[1] as string) : arg;
    const value = (): string | undefined => (eq ? eq[2] : args.shift());
    if (flag === '--max') {
      const v = value();
      if (v === undefined) return bad('--max: needs a number, e.g. --max 5');
      if (!/^\d{1,4}$/.test(v) || Number(v) > MAX_MAX) return bad(`--max: expected a whole number from 0 to ${MAX_MAX}, got ${JSON.stringify(v)}`);
      max = Number(v);
    } else if (flag === '--ttl') {
      const v = value();
      if (v === undefined) return bad('--ttl: needs a duration, e.g. --ttl 7d (s, m, h, d or w), or off');
      if (v === 'off') ttlSeconds = null;
      else {
        const s = durationSeconds(v);
        if (s === null) return bad(`--ttl: expected a duration like 90m, 12h, 7d or 2w (at most 366 days), or off, got ${JSON.stringify(v)}`);
        ttlSeconds = s;
      }
    } else if (flag === '--secrets') {
      if (eq) return bad('--secrets takes no value');
      secrets = true;
    } else if (arg.startsWith('-')) {
      return bad(`${flag}: unknown flag (known: --max N, --ttl DURATION, --secrets)`);
    } else if (!PATTERN.test(arg) || REFUSED.test(arg)) {
      return bad(`${JSON.stringify(arg)}: not a branch pattern (a ref name with * ** ?, optionally ! first to leave out)`);
    } else patterns.push(arg);
  }
  return { patterns, max, ttlSeconds, secrets };
}

const cache = new Map<string, RegExp>();

/** `*` and `?` stay within one `/`-separated part, `**` crosses them; everything else is itself. */
export function globRegExp(glob: string): RegExp {
  const known = cache.get(glob);
  if (known) return known;
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*' && glob[i + 1] === '*') {
      re += '.*';
      i++;
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const out = new RegExp(`^${re}$`);
  if (cache.size > 500) cache.clear();
  cache.set(glob, out);
  return out;
}

function matches(pattern: string, ref: string): boolean {
  // A pattern that starts with refs/ is matched against the whole ref; any other against a branch's name.
  if (pattern.startsWith('refs/')) return globRegExp(pattern).test(ref);
  return ref.startsWith('refs/heads/') && globRegExp(pattern).test(ref.slice('refs/heads/'.length));
}

/**
 * Does a ref of the service repo (`refs/heads/feature/a`, `refs/pull/7/head`) get a preview by these orders? With no
 * pattern (or only `!` ones) every branch does; refs outside refs/heads/ only when a pattern names them. The deployed
 * branch is left out by the caller, which knows it.
 */
export function previewWants(o: PreviewOrders, ref: string): boolean {
  if (ref === 'HEAD' || ref.endsWith('^{}') || !ref.startsWith('refs/')) return false;
  const positive = o.patterns.filter((p) => !p.startsWith('!'));
  const negative = o.patterns.filter((p) => p.startsWith('!')).map((p) => p.slice(1));
  const wanted = positive.length === 0 ? ref.startsWith('refs/heads/') : positive.some((p) => matches(p, ref));
  return wanted && !negative.some((p) => matches(p, ref));
}
