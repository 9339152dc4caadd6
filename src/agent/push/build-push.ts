import type { AgentContext } from '../context.js';
import type { LineSink, Release } from '../types.js';

/** A pushed commit to build (`git push ship`): the push repo holds it, handed over from git's quarantine dir. */
export interface PushBuild {
  readonly service: string;
  /** The push repo on the ship: the build clones from it like from any git URL. */
  readonly repo: string;
  readonly sha: string;
  /** HQ's env as it is now: a pushed tree builds with the same env precedence as a service HQ orders. */
  readonly hqEnv: Readonly<Record<string, string>>;
  readonly log: LineSink;
  readonly signal: AbortSignal;
}

/**
 * Builds a pushed commit with the autodeploy pipeline (same buildpacks, sandbox and limits as HQ's services), so a
 * push that builds here builds the same way once HQ orders it.
 */
export function buildPush(ctx: AgentContext, p: PushBuild): Promise<Release> {
  return ctx.build.buildRelease(
    { service: p.service, giturl: p.repo, sha: p.sha, ordersEnv: {}, hqEnv: p.hqEnv, shipName: ctx.shipName },
    { dataDir: ctx.dataDir, access: ctx.access, log: p.log, signal: p.signal, timeoutMs: ctx.limits.buildTimeoutMs, quietMs: ctx.limits.buildQuietMs },
  );
}
