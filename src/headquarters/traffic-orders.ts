import { parseDuration } from '../util/duration.js';
import type { VerbCall } from './bash-eval.js';
import type { Problem } from './types.js';

/** `maintenance [--allow PATH]... [message...]` in orders: the service answers 503 on every ship (docs/traffic.md). */
export interface MaintenanceOrders {
  readonly message: string;
  readonly allow: readonly string[];
}

/** How long a `release_pause` may hold a request at most (a release command taking longer: requests get 503). */
export const MAX_RELEASE_PAUSE_S = 3600;
/** An allowed path: absolute, plain segments (dataplane/protocol/wire-traffic.ts checks the same on arrival). */
const ALLOW = /^(\/[A-Za-z0-9._~!$&'()*+,;=:@-]+)+$/;

export function allowPathProblem(p: string): string | null {
  if (!ALLOW.test(p) || p.split('/').some((s) => s === '.' || s === '..')) return `expected an absolute path of plain segments such as /up, got ${JSON.stringify(p)}`;
  return null;
}

function once(calls: readonly VerbCall[], verb: string, file: string, problems: Problem[]): VerbCall | undefined {
  const all = calls.filter((c) => c.verb === verb);
  for (const extra of all.slice(1)) problems.push({ file, line: extra.line, message: `${verb} given again (first at line ${all[0]?.line})` });
  return all[0];
}

/** The one `maintenance` call of an orders file, checked; undefined when there is none or it is wrong. */
export function maintenanceFrom(calls: readonly VerbCall[], file: string, problems: Problem[]): MaintenanceOrders | undefined {
  const call = once(calls, 'maintenance', file, problems);
  if (!call) return undefined;
  const allow: string[] = [];
  const words: string[] = [];
  const args = [...call.args];
  while (args.length > 0) {
    const a = args.shift() as string;
    if (a === '--allow') {
      const p = args.shift();
      const why = p === undefined ? 'needs a path, e.g. --allow /up' : allowPathProblem(p);
      if (why !== null || p === undefined) {
        problems.push({ file, line: call.line, message: `maintenance --allow: ${why ?? ''}` });
        return undefined;
      }
      allow.push(p);
    } else words.push(a);
  }
  const message = words.join(' ');
  if (message.length > 1024 || /[\x00-\x1f\x7f]/.test(message)) {
    problems.push({ file, line: call.line, message: 'maintenance: the message must be one line of at most 1024 characters' });
    return undefined;
  }
  return { message, allow };
}

/**
 * `release_pause [seconds]`: a deploy holds requests around the release command, at most this long each; null: no
 * seconds given (the ship's STARPHLEET_RELEASE_PAUSE).
 */
export function releasePauseFrom(calls: readonly VerbCall[], file: string, problems: Problem[]): number | null | undefined {
  const call = once(calls, 'release_pause', file, problems);
  if (!call) return undefined;
  if (call.args.length > 1) {
    problems.push({ file, line: call.line, message: 'release_pause takes at most one argument: how long a request may be held (e.g. 60s)' });
    return undefined;
  }
  const raw = call.args[0];
  if (raw === undefined) return null;
  const s = parseDuration(raw, MAX_RELEASE_PAUSE_S);
  if (s === null) problems.push({ file, line: call.line, message: `release_pause: expected a duration such as 60 or 90s (at most ${MAX_RELEASE_PAUSE_S} s), got ${JSON.stringify(raw)}` });
  return s ?? undefined;
}

/**
 * The digest of an orders file that says whether its service must deploy again: its bytes without the lines that
 * are only a `maintenance` or `release_pause` call, so turning maintenance on or off from HQ deploys nothing.
 */
export function ordersDigestText(bytes: Buffer): Buffer {
  const text = bytes.toString('latin1');
  if (!/^\s*(maintenance|release_pause)\b/m.test(text)) return bytes;
  return Buffer.from(text.split('\n').filter((l) => !/^\s*(maintenance|release_pause)(\s[^;&|`$()<>]*)?\s*$/.test(l)).join('\n'), 'latin1');
}
