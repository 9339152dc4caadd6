import { createHash } from 'node:crypto';
import type { Service } from '../../headquarters/types.js';
import type { AgentContext } from '../context.js';
import type { ServiceController } from './controller.js';
import { launch } from './launch.js';
import { backoffMs } from '../limits.js';
import { switchTo } from './switch.js';
import type { Release } from '../types.js';
import { serviceEnvOfHq } from '../build/env.js';

/** What a release is built from: a change in any of these is a new deploy (ship settings in HQ env are not among them). */
export function inputsDigest(service: Service, sha: string, hqEnv: Readonly<Record<string, string>>): string {
  const o = service.orders;
  return createHash('sha256')
    .update(JSON.stringify({ sha, orders: service.ordersDigest, giturl: o.giturl, env: o.env, unpublished: o.unpublished, hqEnv: serviceEnvOfHq(hqEnv) }))
    .digest('hex');
}

function failed(ctx: AgentContext, ctrl: ServiceController, sha: string, inputs: string, reason: string): false {
  const attempts = ctrl.failure?.inputs === inputs ? ctrl.failure.attempts + 1 : 1;
  const wait = backoffMs(attempts, ctx.limits.retryBaseMs, ctx.limits.retryMaxMs);
  ctrl.failure = { inputs, attempts, retryAt: Date.now() + wait, reason };
  const serving = ctrl.serving?.release.config;
  const keeps = serving ? `; release ${serving.id} (${serving.sha.slice(0, 7)}) keeps serving` : '';
  const message = `deploy of ${sha.slice(0, 7)} failed: ${reason}${keeps}; retry in ${Math.round(wait / 1000)} s`;
  ctx.log(`${ctrl.name}: ${message}`);
  ctrl.status(ctx, 'failed', message);
  return false;
}

/**
 * One deploy of one service: build, start, healthcheck, switch. Whatever fails leaves the serving release as it was.
 * Returns whether the new release serves. The build runs outside the controller's lock (a long build must not hold
 * up a crash restart); start and switch run under it.
 */
export async function deploy(ctx: AgentContext, ctrl: ServiceController, service: Service, sha: string, hqEnv: Readonly<Record<string, string>>, inputs: string, signal: AbortSignal): Promise<boolean> {
  const was = ctrl.serving?.release.config.sha;
  const why = !was ? 'first deploy' : was !== sha ? `new sha, was ${was.slice(0, 7)}` : 'same sha: orders or HQ env changed';
  ctx.log(`${ctrl.name}: deploying ${service.orders.giturl} at ${sha.slice(0, 7)} (${why})`);
  ctrl.status(ctx, 'building', '', sha);
  let release: Release;
  try {
    // The ship's runtime decides the builds' sandbox too: a ship without one builds nothing (unless =process).
    const sandbox = ctx.runtime.sandbox();
    release = await ctx.build.buildRelease(
      { service: ctrl.name, giturl: service.orders.giturl, sha, ordersEnv: service.orders.env, hqEnv, shipName: ctx.shipName },
      { dataDir: ctx.dataDir, access: ctx.access, log: () => {}, signal, timeoutMs: ctx.limits.buildTimeoutMs, sandbox },
    );
  } catch (e) {
    if (signal.aborted) return false;
    return failed(ctx, ctrl, sha, inputs, `build failed: ${(e as Error).message}`);
  }
  if (signal.aborted) return false;
  return ctrl.serial(async () => {
    if (signal.aborted || ctrl.removed) return false;
    ctrl.status(ctx, 'starting', '', sha);
    const r = await launch(ctx, ctrl.name, release, signal);
    if (!r.ok) return signal.aborted ? false : failed(ctx, ctrl, sha, inputs, `release ${release.config.id}: ${r.reason}`);
    if (signal.aborted || ctrl.removed) {
      await r.instance.stop(ctx.limits.stopGraceMs);
      return false;
    }
    ctrl.failure = null;
    ctrl.crashes = 0;
    await switchTo(ctx, ctrl, release, r.instance, inputs);
    return true;
  });
}
