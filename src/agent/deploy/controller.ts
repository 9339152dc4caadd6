import type { Service } from '../../headquarters/types.js';
import { upsertServiceStatus, type ServiceState } from '../../state/services.js';
import { clearBackoff, loadBackoff, saveBackoff } from '../../state/backoff.js';
import type { AgentContext } from '../context.js';
import type { Instance } from '../runtime/instances.js';
import type { Release } from '../types.js';

/** One instance place of a process type (web.1, web.2, worker.1): its instance, and its own crash count and backoff. */
export interface Slot {
  readonly process: string;
  readonly index: number;
  /** Null while it is (re)started after a crash or a ship restart; a web slot without one is not routed. */
  instance: Instance | null;
  crashes: number;
  lastCrashAt: number;
  restartTimer: NodeJS.Timeout | null;
}

export function newSlot(process: string, index: number, instance: Instance | null = null): Slot {
  return { process, index, instance, crashes: 0, lastCrashAt: 0, restartTimer: null };
}

export interface Serving {
  readonly release: Release;
  /** Every instance place of the release's formation. */
  readonly slots: Slot[];
  /** Digest of the deploy inputs the release was built from; null when not known (then any desired state redeploys). */
  readonly inputs: string | null;
}

/** The web instances that serve now, in slot order: what the route spreads requests over. */
export function webInstances(serving: Serving | null): Instance[] {
  return (serving?.slots ?? []).flatMap((s) => (s.process === 'web' && s.instance ? [s.instance] : []));
}

/** Whether every slot has its instance: the service is whole (status serving) or some part is restarting. */
export function allRunning(serving: Serving | null): boolean {
  return serving !== null && serving.slots.every((s) => s.instance !== null);
}

export interface Failure {
  readonly inputs: string;
  readonly attempts: number;
  readonly retryAt: number;
  readonly reason: string;
}

/**
 * Everything the agent knows about one service. Mutated only by the agent's own code paths, which take the
 * controller's lock (`serial`) for anything that touches instances or the route.
 */
export class ServiceController {
  desired: Service | null = null;
  serving: Serving | null = null;
  failure: Failure | null = null;
  /** The running deploy, if any, and how to cancel it. */
  deploying: Promise<boolean> | null = null;
  abort: AbortController | null = null;
  removed = false;
  /** Why the ref could not be resolved at the last pulse (null when it was): apart from `failure`, which it never resets. */
  lookupProblem: string | null = null;
  /** Why its HQ secrets cannot be used now (which file, why): nothing deploys meanwhile, what serves keeps serving. */
  secretsProblem: string | null = null;
  /** Releases given up on after crashing in a row: never a fallback (a retry of the same inputs builds a new one). */
  readonly crashLooped = new Set<string>();
  private backoffLoaded = false;
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    readonly name: string,
    public mount: string,
    public published: boolean,
  ) {}

  /** A failed deploy's backoff, in memory and in the db (a restarted ship keeps it); a db that cannot take it is logged. */
  setFailure(ctx: AgentContext, f: Failure): void {
    this.failure = f;
    this.backoffLoaded = true;
    try {
      saveBackoff(ctx.db, this.name, f);
    } catch (e) {
      ctx.log(`${this.name}: recording the backoff failed: ${(e as Error).message}`);
    }
  }

  clearFailure(ctx: AgentContext): void {
    this.failure = null;
    this.backoffLoaded = true;
    try {
      clearBackoff(ctx.db, this.name);
    } catch (e) {
      ctx.log(`${this.name}: clearing the backoff record failed: ${(e as Error).message}`);
    }
  }

  /** Once per controller: the backoff an earlier ship process recorded (a known-bad commit waits for it). */
  loadFailure(ctx: AgentContext): void {
    if (this.backoffLoaded) return;
    this.backoffLoaded = true;
    if (this.failure) return;
    this.failure = loadBackoff(ctx.db, this.name);
  }

  /** Cancels every pending crash restart (stop, removal, a switch to another release). */
  clearRestarts(): void {
    for (const s of this.serving?.slots ?? []) {
      if (s.restartTimer) clearTimeout(s.restartTimer);
      s.restartTimer = null;
    }
  }

  /** Runs fn after every earlier serial fn of this service has settled. */
  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.tail.then(fn, fn);
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** Who or what asked for the next deploy (an unpin, a webhook delivery): its trigger names it, within a minute. */
  private cause: { readonly text: string; readonly until: number } | null = null;

  noteCause(text: string, ttlMs = 60_000): void {
    this.cause = { text, until: Date.now() + ttlMs };
  }

  /** The cause noted for the deploy starting now (once), or null when none is pending. */
  takeCause(): string | null {
    const c = this.cause;
    this.cause = null;
    return c !== null && c.until > Date.now() ? c.text : null;
  }

  /** A problem of the front door with this service (its PUBLISH_PORT cannot be bound): shown with every status. */
  doorProblem: string | null = null;
  /** Why a new sha waits (held by a canary ship, src/phleet/canary.ts); null when it does not. */
  holdReason: string | null = null;
  private last: { state: ServiceState; message: string; sha: string | null | undefined } | null = null;

  /**
   * Why a published service that serves has no route: its release has no web process (a worker-only Procfile, as
   * Dokku runs it) or its web is scaled to 0. Null when it is routed (or not published, or not serving yet).
   */
  get unrouted(): string | null {
    const s = this.serving;
    if (!this.published || !s || s.release.config.deployOnly === true || s.slots.some((x) => x.process === 'web')) return null;
    const cfg = s.release.config;
    const web = cfg.processes?.web ?? (cfg.processes ? '' : cfg.command);
    return web.trim() === '' ? 'no web process: not routed' : 'web is scaled to 0: not routed';
  }

  /** Writes the last status again, with the current front door problem. */
  restatus(ctx: AgentContext): void {
    if (this.last) this.status(ctx, this.last.state, this.last.message, this.last.sha);
  }

  status(ctx: AgentContext, state: ServiceState, message = '', sha?: string | null): void {
    if (this.removed) return;
    this.last = { state, message, sha };
    if (this.doorProblem) message = message ? `${message}; ${this.doorProblem}` : this.doorProblem;
    const unrouted = state === 'serving' ? this.unrouted : null;
    if (unrouted) message = message ? `${unrouted}; ${message}` : unrouted;
    const release = this.serving?.release.config ?? null;
    // A status that cannot be written (a full disk) is logged, never thrown: what runs must not depend on it.
    try {
      this.writeStatus(ctx, state, message, sha, release);
    } catch (e) {
      ctx.log(`${this.name}: writing its status (${state}${message ? `: ${message}` : ''}) failed: ${(e as Error).message}`);
    }
  }

  private writeStatus(ctx: AgentContext, state: ServiceState, message: string, sha: string | null | undefined, release: Serving['release']['config'] | null): void {
    upsertServiceStatus(ctx.db, {
      name: this.name,
      mount: this.mount,
      giturl: this.desired?.orders.giturl ?? release?.giturl ?? '',
      sha: sha !== undefined ? sha : (release?.sha ?? null),
      state,
      release: release?.id ?? null,
      url: this.published && this.unrouted === null ? ctx.urlFor(this.mount) : null,
      message,
    });
  }
}
