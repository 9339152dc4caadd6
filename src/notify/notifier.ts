import type { AgentEvent } from '../agent/events.js';
import type { DesiredState } from '../headquarters/types.js';
import type { Logger } from '../log.js';
import { DEFAULT_LIMITS, TargetQueue, type DeliveryLimits } from './delivery.js';
import { fromAgentEvent, hqProblem, shipUpdated, type Notification } from './messages.js';
import { parseTargets } from './targets.js';
import { notifyQueueSetting, notifySetting } from '../settings/phleet-settings.js';

/** How an HQ problem reads in a notification: file, line and message, as in status. */
function problemText(p: DesiredState['problems'][number]): string {
  return `${p.file}${p.line ? `:${p.line}` : ''}: ${p.message}`;
}

/** Events that come before the first HQ read (adoption at start) wait for it, up to this many. */
const EARLY_MAX = 100;

/**
 * The ship's outbound notifications (STARPHLEET_NOTIFY in HQ .starphleet, else the ship's env). It is told about agent
 * events, each new desired state and a finished update, and queues each notification per target without ever making
 * the caller wait.
 */
export class Notifier {
  private queues = new Map<string, TargetQueue>();
  private configured = false;
  private early: Notification[] = [];
  private lastRaw: string | undefined = undefined;
  private problems = new Set<string>();
  private readonly limits: DeliveryLimits;

  constructor(
    private readonly ship: string,
    private readonly log: Logger,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {
    this.limits = { ...DEFAULT_LIMITS, queue: notifyQueueSetting(DEFAULT_LIMITS.queue, env) };
  }

  /** A new desired state: targets from its .starphleet (or the ship's env), and HQ problems that appeared or cleared. */
  desired(next: DesiredState): void {
    const { raw, where } = notifySetting(next.env, this.env);
    if (raw !== this.lastRaw || !this.configured) this.configure(raw, where);
    const now = new Set(next.problems.map(problemText));
    // The first read after a start reports what is wrong now; later reads only what changed.
    for (const p of now) if (!this.problems.has(p)) this.send(hqProblem(this.ship, p, false));
    for (const p of this.problems) if (!now.has(p)) this.send(hqProblem(this.ship, p, true));
    this.problems = now;
  }

  private configure(raw: string | undefined, where: string): void {
    this.lastRaw = raw;
    const { targets, problems } = parseTargets(raw, where);
    for (const p of problems) this.log(`notify: ${p}; ignored`);
    const next = new Map<string, TargetQueue>();
    for (const t of targets) next.set(t.url, this.queues.get(t.url) ?? new TargetQueue(t, this.limits, this.log));
    for (const [url, q] of this.queues) if (!next.has(url)) q.stop();
    this.queues = next;
    if (!this.configured) {
      this.configured = true;
      const early = this.early;
      this.early = [];
      for (const n of early) this.send(n);
    }
    if (targets.length > 0) this.log(`notify: ${targets.map((t) => `${t.label} (${t.style})`).join(', ')}`);
  }

  agentEvent(e: AgentEvent): void {
    const n = fromAgentEvent(this.ship, e);
    if (n) this.send(n);
  }

  updated(version: string, previousVersion: string): void {
    this.send(shipUpdated(this.ship, version, previousVersion));
  }

  private send(n: Notification): void {
    if (!this.configured) {
      if (this.early.length < EARLY_MAX) this.early.push(n);
      return;
    }
    for (const q of this.queues.values()) q.push(n);
  }

  /** Pending notifications are not sent any more (the ship stops; nothing waits for them). */
  stop(): void {
    for (const q of this.queues.values()) q.stop();
  }
}
