import { join } from 'node:path';
import type { SealedFile, Service } from '../../headquarters/types.js';
import { clearPin, getPin } from '../../state/deploys.js';
import { baseScriptHash } from '../releases/bases/base-paths.js';
import type { AgentContext } from '../context.js';
import { allRunning, type ServiceController } from './controller.js';
import { inputsDigest } from './deploy.js';
import { startDeploy } from './reconcile.js';
import { rollback } from './rollback.js';
import type { Semaphore } from './semaphore.js';
import { serviceBaseSetting } from '../../settings/agent-settings.js';

/** What an admiral's operation answers: done or not, and a line saying what happened. */
export interface OpResult {
  readonly ok: boolean;
  readonly message: string;
}

/** One service as the agent knows it now: its controller and its orders (either missing: no such service). */
export interface ServiceNow {
  readonly name: string;
  readonly ctrl: ServiceController | undefined;
  readonly service: Service | undefined;
}

/** `starphleet redeploy`: builds the current sha of the service's ref again and deploys it; resolves when it serves or failed. */
export async function redeploy(ctx: AgentContext, sem: Semaphore, s: ServiceNow, hqEnv: Readonly<Record<string, string>>, by: string, sealed: readonly SealedFile[] = []): Promise<OpResult> {
  const { name, ctrl, service } = s;
  if (!ctrl || !service) return { ok: false, message: `no service named ${name}` };
  while (ctrl.deploying) await ctrl.deploying;
  let sha: string;
  try {
    sha = await ctx.build.resolveRef(service.orders.giturl, service.orders.ref, ctx.access, ctx.dataDir);
  } catch (e) {
    return { ok: false, message: (e as Error).message };
  }
  const opened = await ctx.secrets.forService(sealed, service, hqEnv);
  if (!opened.ok) return { ok: false, message: `${name}: ${opened.reason}` };
  while (ctrl.deploying) await ctrl.deploying;
  const inputs = inputsDigest(service, sha, hqEnv, baseScriptHash(join(ctx.dataDir, 'hq'), serviceBaseSetting(service.orders.env)), opened.secrets?.digest);
  // A rebuild on purpose (a buildpack or base may have changed): the one deploy that does not reuse a retained build.
  const ok = await startDeploy(ctx, sem, ctrl, service, sha, hqEnv, inputs, { trigger: `redeploy by ${by}`, rebuild: true, secrets: opened.secrets });
  const serving = ctrl.serving?.release.config;
  if (ok && serving) return { ok, message: `${name}: release ${serving.id} (${serving.sha.slice(0, 7)}) serves` };
  return { ok: false, message: `${name}: ${ctrl.failure?.reason ?? 'redeploy did not finish'}` };
}

/** `starphleet rollback`: a retained release serves again without a rebuild, pinned until its ref moves or unpin. */
export async function rollbackTo(ctx: AgentContext, s: ServiceNow, release: string | undefined, by: string): Promise<OpResult> {
  const { name, ctrl, service } = s;
  if (!ctrl || ctrl.removed || !service) return { ok: false, message: `no service named ${name}` };
  while (ctrl.deploying) await ctrl.deploying;
  const sha = await ctx.build.resolveRef(service.orders.giturl, service.orders.ref, ctx.access, ctx.dataDir).catch(() => null);
  while (ctrl.deploying) await ctrl.deploying;
  const run = rollback(ctx, ctrl, release, sha, by);
  // A pulse meanwhile sees a deploy running and leaves the service alone.
  const deploying = run.then((r) => r.ok).finally(() => {
    if (ctrl.deploying === deploying) ctrl.deploying = null;
  });
  ctrl.deploying = deploying;
  return run;
}

/** `starphleet unpin`: the service follows its ref again (the next pulse deploys when it differs from what serves). */
export function unpin(ctx: AgentContext, s: ServiceNow, by: string, pulseNow: () => void): OpResult {
  const { name, ctrl } = s;
  if (!ctrl || ctrl.removed) return { ok: false, message: `no service named ${name}` };
  const pin = getPin(ctx.db, name);
  if (!pin) return { ok: false, message: `${name} is not pinned` };
  clearPin(ctx.db, name);
  // The deploy this starts (when the ref's sha is not what serves) names who unpinned.
  ctrl.noteCause(`unpin by ${by}`);
  ctx.log(`${name}: unpinned from release ${pin.release} by ${by}: it follows its ref again`);
  ctrl.status(ctx, allRunning(ctrl.serving) ? 'serving' : 'starting', '');
  pulseNow();
  return { ok: true, message: `${name}: unpinned from release ${pin.release}; it follows its ref again` };
}
