import type { AgentEvent } from '../agent/events.js';
import { discordText, slackText } from './chat-markup.js';
import type { NotifyStyle } from './targets.js';

export type NotifyEvent =
  | 'deploy.started'
  | 'deploy.succeeded'
  | 'deploy.failed'
  | 'deploy.rolled_back'
  | 'rollback.failed'
  | 'service.crash_loop'
  | 'hq.problem'
  | 'hq.problem_cleared'
  | 'ship.updated';

/** One notification as posted to a plain JSON endpoint; `text` is what chat webhooks get. */
export interface Notification {
  readonly event: NotifyEvent;
  readonly ship: string;
  readonly at: string;
  readonly text: string;
  readonly service?: string;
  readonly sha?: string;
  readonly release?: string;
  readonly reason?: string;
  readonly seconds?: number;
  readonly problem?: string;
  readonly version?: string;
  readonly previousVersion?: string;
  /** A preview's deploys (docs/previews.md): what it previews, and where it answers. */
  readonly preview?: { readonly service: string; readonly branch: string; readonly hosts: readonly string[] };
  readonly url?: string;
}

const short = (sha: string): string => sha.slice(0, 7);

/** The notification of an agent event; null for events nobody is told about (builds, single restarts). */
export function fromAgentEvent(ship: string, e: AgentEvent, at = new Date()): Notification | null {
  const base = { ship, at: at.toISOString(), service: e.service };
  // A preview's deploy says which branch it previews and carries its URL (with its hosts), in the text too.
  const p = (e.kind === 'deploy-started' || e.kind === 'deploy-finished') && e.preview ? e.preview : null;
  const pre = p ? { preview: { service: p.service, branch: p.branch, hosts: p.hosts }, url: p.url } : {};
  const of = p ? ` (preview of ${p.branch})` : '';
  const where = p ? ` at ${[p.url, ...p.hosts].join(' ')}` : '';
  switch (e.kind) {
    case 'deploy-started':
      return { ...base, ...pre, event: 'deploy.started', sha: e.sha, reason: e.trigger, text: `${ship}: ${e.service}${of}: deploying ${short(e.sha)} (${e.trigger})` };
    case 'deploy-finished':
      if (e.result === 'serving') {
        return { ...base, ...pre, event: 'deploy.succeeded', sha: e.sha, release: e.release ?? '', seconds: e.seconds, text: `${ship}: ${e.service}${of}: release ${e.release ?? ''} (${short(e.sha)}) serves${where}, deployed in ${e.seconds.toFixed(1)} s` };
      }
      if (e.result === 'failed') {
        return { ...base, ...pre, event: 'deploy.failed', sha: e.sha, ...(e.release ? { release: e.release } : {}), reason: e.reason, seconds: e.seconds, text: `${ship}: ${e.service}${of}: deploy of ${short(e.sha)} FAILED: ${e.reason}` };
      }
      return null;
    case 'rollback-finished':
      if (e.ok) return { ...base, event: 'deploy.rolled_back', sha: e.sha, release: e.release, reason: `rollback by ${e.by}`, seconds: e.seconds, text: `${ship}: ${e.service}: rolled back to release ${e.release} (${short(e.sha)}) by ${e.by}` };
      return { ...base, event: 'rollback.failed', sha: e.sha, release: e.release, reason: e.reason, text: `${ship}: ${e.service}: rollback to release ${e.release} FAILED: ${e.reason}` };
    case 'crash-loop': {
      const then = e.fallback ? `release ${e.fallback} serves instead` : 'not restarted until a new deploy';
      return { ...base, event: 'service.crash_loop', release: e.release, reason: e.reason, text: `${ship}: ${e.service}: release ${e.release} is crash looping (${e.reason}); ${then}` };
    }
    default:
      return null;
  }
}

export function hqProblem(ship: string, problem: string, cleared: boolean, at = new Date()): Notification {
  return cleared
    ? { event: 'hq.problem_cleared', ship, at: at.toISOString(), problem, text: `${ship}: HQ problem cleared: ${problem}` }
    : { event: 'hq.problem', ship, at: at.toISOString(), problem, text: `${ship}: HQ problem: ${problem}` };
}

export function shipUpdated(ship: string, version: string, previousVersion: string, at = new Date()): Notification {
  return { event: 'ship.updated', ship, at: at.toISOString(), version, previousVersion, text: `${ship}: starphleet updated ${previousVersion} -> ${version}` };
}

/** The body posted to a target of the given style. */
export function bodyFor(style: NotifyStyle, n: Notification): string {
  if (style === 'slack') return JSON.stringify({ text: slackText(n.text) });
  // allowed_mentions with no parse: Discord pings nobody, whatever the text holds. Cut before escaping grows it.
  if (style === 'discord') return JSON.stringify({ content: discordText(n.text.slice(0, 1000)).slice(0, 2000).replace(/\\$/, ''), allowed_mentions: { parse: [] } });
  return JSON.stringify(n);
}
