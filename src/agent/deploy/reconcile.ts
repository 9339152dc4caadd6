import { join } from 'node:path';
import type { SealedFile, Service } from '../../headquarters/types.js';
import type { ReleaseSecrets } from '../types.js';
import { canaryHold } from '../../phleet/canary.js';
import { shipsCheckout } from '../../phleet/ships-checkout.js';
import { deleteAgentService, listInstances } from '../../state/instances.js';
import { deleteServiceStatus } from '../../state/services.js';
import type { AgentContext } from '../context.js';
import { allRunning, type ServiceController } from './controller.js';
import { clearPin, getPin } from '../../state/deploys.js';
import { clearBackoff } from '../../state/backoff.js';
import { deploy, inputsDigest, type DeployHow } from './deploy.js';
import { killRecorded } from '../runtime/instances.js';
import type { Semaphore } from './semaphore.js';
import { retire } from './switch.js';
import { baseScriptHash } from '../releases/bases/base-paths.js';
import { backoffMs } from '../limits.js';
import { serviceBaseSetting } from '../../settings/agent-settings.js';

/** Starts a deploy in the background (bounded across services by the semaphore); at most one per service. */
export function startDeploy(ctx: AgentContext, sem: Semaphore, ctrl: ServiceController, service: Service, sha: string, hqEnv: Readonly<Record<string, string>>, inputs: string, how: DeployHow = {}): Promise<boolean> {
  const abort = new AbortController();
  ctrl.abort = abort;
  const run = sem
    .run(() => (abort.signal.aborted ? Promise.resolve(false) : deploy(ctx, ctrl, service, sha, hqEnv, inputs, abort.signal, how)))
    .catch((e: unknown) => {
      ctx.log(`${ctrl.name}: deploy crashed: ${(e as Error).stack ?? String(e)}`);
      // Backoff as for a failed deploy (a full disk fails before anything is recorded): no retry every pulse.
      const attempts = ctrl.failure?.inputs === inputs ? ctrl.failure.attempts + 1 : 1;
      ctrl.setFailure(ctx, { inputs, attempts, retryAt: Date.now() + backoffMs(attempts, ctx.limits.retryBaseMs, ctx.limits.retryMaxMs), reason: `deploy crashed: ${(e as Error).message}` });
      ctrl.status(ctx, 'failed', `deploy crashed: ${(e as Error).message}`);
      return false;
    })
    .finally(() => {
      if (ctrl.deploying === run) {
        ctrl.deploying = null;
        ctrl.abort = null;
      }
    });
  ctrl.deploying = run;
  return run;
}

/**
 * One service, one pulse: resolve the ref; if sha, orders, HQ env or the values of its HQ secrets differ from what
 * serves, deploy, unless these same inputs failed and their backoff has not run out. A new commit or orders change has
 * new inputs: it goes at once. Secrets that cannot be opened hold it where it is.
 */
export async function reconcileService(ctx: AgentContext, sem: Semaphore, ctrl: ServiceController, service: Service, hqEnv: Readonly<Record<string, string>>, sealed: readonly SealedFile[] = [], hqSha: string | null = null): Promise<void> {
  ctrl.desired = service;
  if (ctrl.deploying) return;
  ctrl.loadFailure(ctx);
  let sha: string;
  try {
    sha = await ctx.build.resolveRef(service.orders.giturl, service.orders.ref, ctx.access, ctx.dataDir);
  } catch (e) {
    // A network blip: said in status and log, but the record of a failed deploy (and its backoff) stays as it was.
    const message = `cannot resolve ${service.orders.giturl}${service.orders.ref ? `#${service.orders.ref}` : ''}: ${(e as Error).message}`;
    if (ctrl.lookupProblem !== message) ctx.log(`${ctrl.name}: ${message}`);
    ctrl.lookupProblem = message;
    ctrl.status(ctx, allRunning(ctrl.serving) ? 'serving' : 'failed', message);
    return;
  }
  if (ctrl.lookupProblem !== null) {
    // The ref resolves again: clear the message it left (a failed deploy's own message comes back).
    ctrl.lookupProblem = null;
    if (ctrl.failure) ctrl.status(ctx, 'failed', ctrl.failure.reason);
    else ctrl.status(ctx, allRunning(ctrl.serving) ? 'serving' : 'starting');
  }
  if (ctrl.deploying || ctrl.removed) return;
  const pin = getPin(ctx.db, ctrl.name);
  // Pinned by a rollback: held while the ref stays where it was; a new sha on the ref deploys and ends the pin.
  if (pin && pin.sha === sha) return;
  const opened = await secretsFor(ctx, ctrl, service, hqEnv, sealed);
  if (opened === false || ctrl.deploying || ctrl.removed) return;
  const inputs = inputsDigest(service, sha, hqEnv, baseScriptHash(join(ctx.dataDir, 'hq'), serviceBaseSetting(service.orders.env)), opened?.digest);
  if (pin) {
    clearPin(ctx.db, ctrl.name);
    ctx.log(`${ctrl.name}: its ref moved to ${sha.slice(0, 7)}: the pin on release ${pin.release} ends`);
    const by = ctrl.takeCause() ?? (hqSha ? `HQ ${hqSha.slice(0, 7)}` : null);
    const trigger = `new sha ${sha.slice(0, 7)} ends the pin on ${pin.release}${by ? `; ${by}` : ''}`;
    void startDeploy(ctx, sem, ctrl, service, sha, hqEnv, inputs, { trigger, secrets: opened });
    return;
  }
  if (ctrl.serving?.inputs === inputs) return;
  if (ctrl.failure?.inputs === inputs && Date.now() < ctrl.failure.retryAt) return;
  // Canary ships (HQ canary) go first: the others keep what serves until ships/<canary> reports the sha healthy.
  const held = ctrl.serving ? canaryHold(join(ctx.dataDir, 'hq'), ctx.shipName, ctrl.name, sha, hqEnv, Date.now(), shipsCheckout(ctx.dataDir, hqEnv)) : null;
  if (held) {
    if (ctrl.holdReason !== held) ctx.log(`${ctrl.name}: ${held}`);
    ctrl.holdReason = held;
    ctrl.status(ctx, allRunning(ctrl.serving) ? 'serving' : 'starting', held);
    return;
  }
  if (ctrl.holdReason) ctrl.holdReason = null;
  void startDeploy(ctx, sem, ctrl, service, sha, hqEnv, inputs, { trigger: pulseTrigger(ctrl, sha, inputs, hqSha, opened?.digest), secrets: opened });
}

/**
 * The service's HQ secrets for a deploy (null: none apply). A file that cannot be used (malformed, or this ship is not
 * a recipient yet) holds the service where it is, said in status and once in the log: false.
 */
async function secretsFor(ctx: AgentContext, ctrl: ServiceController, service: Service, hqEnv: Readonly<Record<string, string>>, sealed: readonly SealedFile[]): Promise<ReleaseSecrets | null | false> {
  const r = await ctx.secrets.forService(sealed, service, hqEnv);
  if (!r.ok) {
    const serving = ctrl.serving?.release.config;
    const message = `${r.reason}; ${serving ? `release ${serving.id} keeps serving` : 'nothing deploys until it can be opened'}`;
    if (ctrl.secretsProblem !== message) ctx.log(`${ctrl.name}: ${message}`);
    ctrl.secretsProblem = message;
    ctrl.status(ctx, allRunning(ctrl.serving) ? 'serving' : 'failed', message);
    return false;
  }
  if (ctrl.secretsProblem !== null) {
    ctrl.secretsProblem = null;
    ctx.log(`${ctrl.name}: its secrets can be opened now`);
    if (ctrl.failure) ctrl.status(ctx, 'failed', ctrl.failure.reason);
    else ctrl.status(ctx, allRunning(ctrl.serving) ? 'serving' : 'starting');
  }
  return r.secrets;
}

/**
 * What a deploy started by a pulse says in the history: what changed, and who or what made it happen (the admiral of
 * an unpin, a webhook delivery; else the HQ commit in force), or that it retries a failed deploy of the same inputs.
 */
function pulseTrigger(ctrl: ServiceController, sha: string, inputs: string, hqSha: string | null, secretsDigest: string | undefined): string {
  const was = ctrl.serving?.release.config;
  const what = !was ? 'first deploy' : was.sha !== sha ? `new sha, was ${was.sha.slice(0, 7)}` : (was.secrets?.digest ?? null) !== (secretsDigest ?? null) ? 'same sha: secrets changed' : 'same sha: orders or HQ env changed';
  const retry = ctrl.failure?.inputs === inputs ? `retry ${ctrl.failure.attempts + 1} of ${sha.slice(0, 7)}` : null;
  const by = ctrl.takeCause() ?? (hqSha ? `HQ ${hqSha.slice(0, 7)}` : null);
  return [retry ?? what, by].filter((x) => x !== null).join('; ');
}

/** A removed order: its route goes at once, its deploy is cancelled, its instances stop, its releases go. */
export async function removeController(ctx: AgentContext, ctrl: ServiceController): Promise<void> {
  ctrl.removed = true;
  ctrl.abort?.abort();
  ctrl.clearRestarts();
  void ctx.publishRoutes();
  ctx.log(`${ctrl.name}: order removed: stopping`);
  await ctrl.deploying;
  await ctrl.serial(async () => {
    await Promise.all((ctrl.serving?.slots ?? []).map((s) => (s.instance ? retire(ctx, s.instance, 'order removed') : undefined)));
    clearPin(ctx.db, ctrl.name);
    for (const rec of listInstances(ctx.db)) if (rec.service === ctrl.name) await killRecorded(ctx.db, rec, ctx.limits.stopGraceMs, ctx.dataDir);
    try {
      await ctx.build.removeService(ctx.dataDir, ctrl.name);
    } catch (e) {
      ctx.log(`${ctrl.name}: removing its releases failed: ${(e as Error).message}`);
    }
    deleteAgentService(ctx.db, ctrl.name);
    clearBackoff(ctx.db, ctrl.name);
    deleteServiceStatus(ctx.db, ctrl.name);
  });
  ctx.log(`${ctrl.name}: removed`);
}
