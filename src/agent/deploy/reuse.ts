import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { builtinBuildpacksDigest } from '../releases/buildpacks-digest.js';
import type { AgentContext } from '../context.js';
import { dataPaths } from '../../data-dir/data-paths.js';
import { writeFileAtomic } from '../../util/atomic-write.js';
import type { Release } from '../types.js';

/**
 * What a build is made of: the deploy inputs (sha, orders, env, base: deploy.ts inputsDigest) and the buildpacks that
 * would build them. A retained release with the same key is that build: a retry, an unpin or a deploy back to inputs
 * that were built before serves it again instead of building it anew (only `redeploy` rebuilds on purpose).
 */
export function buildKeyOf(inputs: string): string {
  return createHash('sha256').update(`${inputs}\0${builtinBuildpacksDigest()}`).digest('hex');
}

/** The newest retained release built from exactly this key, or null. */
export async function builtBefore(ctx: AgentContext, service: string, key: string): Promise<Release | null> {
  const releases = await ctx.build.listReleases(ctx.dataDir, service);
  return releases.filter((r) => r.config.buildKey === key).pop() ?? null;
}

/**
 * `releases/<id>.released`: the release's `release:` command passed (or it has none). A reused release runs it again
 * only when it never passed: a retry after a failed health check only restarts, a retry after a failed release phase
 * runs it again. Pruned with its release (release-store.ts).
 */
function markFile(dataDir: string, service: string, id: string): string {
  return join(dataPaths.releases(dataDir, service), `${id}.released`);
}

export function releasePhasePassed(ctx: AgentContext, service: string, id: string): boolean {
  return existsSync(markFile(ctx.dataDir, service, id));
}

export async function markReleasePhasePassed(ctx: AgentContext, service: string, id: string): Promise<void> {
  try {
    await writeFileAtomic(markFile(ctx.dataDir, service, id), `${new Date().toISOString()}\n`);
  } catch (e) {
    // Only costs a second run of the release phase if this release is reused.
    ctx.log(`${service}: recording that release ${id} passed its release phase failed: ${(e as Error).message}`);
  }
}
