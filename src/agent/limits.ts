import { agentLimitSettings } from '../settings/agent-settings.js';

/** Time limits and bounds of the agent; STARPHLEET_* env overrides them (seconds unless named otherwise). */
export interface AgentLimits {
  readonly buildTimeoutMs: number;
  /** A build step silent this long says what it waits for (0: never). */
  readonly buildQuietMs: number;
  /** How long an old instance may finish its in-flight requests after a switch. */
  readonly drainTimeoutMs: number;
  /** Between SIGTERM and SIGKILL. */
  readonly stopGraceMs: number;
  readonly maxConcurrentDeploys: number;
  readonly keepReleases: number;
  /** First retry of the same failed inputs after this, doubling up to retryMaxMs. */
  readonly retryBaseMs: number;
  readonly retryMaxMs: number;
  /** First restart of a crashed instance after this, doubling. */
  readonly crashBaseMs: number;
  /** Crashes in a row after which the service is marked failed and left alone. */
  readonly maxCrashes: number;
  /** A process that is not web counts as up once alive this long (a service's STARPHLEET_WORKER_UP wins). */
  readonly workerUpMs: number;
}

export function agentLimits(env: NodeJS.ProcessEnv = process.env): AgentLimits {
  return agentLimitSettings(env);
}

/** base * 2^(attempt-1), capped. */
export function backoffMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
}
