import { createHash } from 'node:crypto';
import type { Service } from '../../headquarters/types.js';
import type { AgentContext } from '../context.js';
import type { ServiceController } from './controller.js';
import { appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { backoffMs } from '../limits.js';
import { startSlots } from './switch.js';
import { formationOf, slotsOf } from './formation.js';
import { runOneOff } from './one-off.js';
import { dataPaths } from '../../data-dir/data-paths.js';
import { redactCredentials } from '../../util/redact.js';
import { finishDeployRecord, startDeployRecord } from '../../state/deploys.js';
import type { LineSink, Release, ReleaseSecrets } from '../types.js';
import { serviceDefaultsOfHq, serviceEnvOfHq } from '../releases/env.js';
import { phleetReleasePhase } from './phleet-release.js';
import { ensureBase } from '../releases/bases/provision.js';
import { mkdirSync } from 'node:fs';
import { builtBefore, buildKeyOf, markReleasePhasePassed, releasePhasePassed } from './reuse.js';
import { serviceBaseSetting } from '../../settings/agent-settings.js';

/** What a release is built from: a change in any of these is a new deploy (ship settings in HQ env are not among them). */
export function inputsDigest(service: Service, sha: string, hqEnv: Readonly<Record<string, string>>, base?: string, secrets?: string): string {
  const o = service.orders;
  // `base` (the container base script's hash) only when the orders name one, `secrets` (the HMAC of the values in
  // force, keeper.ts) only when HQ seals some to it, `hqDefaults` (.starphleet's STARPHLEET_DISK) only when HQ sets
  // one the orders do not: other services' digests stay as they were.
  const defaults = Object.fromEntries(Object.entries(serviceDefaultsOfHq(hqEnv)).filter(([k]) => o.env[k] === undefined));
  return createHash('sha256')
    .update(JSON.stringify({ sha, orders: service.ordersDigest, giturl: o.giturl, env: o.env, unpublished: o.unpublished, hqEnv: serviceEnvOfHq(hqEnv), ...(base !== undefined ? { base } : {}), ...(secrets !== undefined ? { secrets } : {}), ...(Object.keys(defaults).length > 0 ? { hqDefaults: defaults } : {}) }))
    .digest('hex');
}

/** Why a deploy runs (its history's trigger; default: what changed) and whether it must build even when it need not. */
export interface DeployHow {
  readonly trigger?: string;
  /** `redeploy`: build the sha again although a release of the same inputs is retained. */
  readonly rebuild?: boolean;
  /** HQ secrets for its instances (sealed, with their digest): recorded in the release, never given to the build. */
  readonly secrets?: ReleaseSecrets | null;
}

/** When each running deploy (by its record id) started: its duration goes with its deploy-finished event. */
const startedAt = new Map<number, number>();

function finished(ctx: AgentContext, service: string, sha: string, record: number, result: 'serving' | 'failed' | 'cancelled', release: string | null, reason: string): void {
  const t0 = startedAt.get(record) ?? Date.now();
  startedAt.delete(record);
  ctx.emit({ kind: 'deploy-finished', service, sha, result, release, reason, seconds: (Date.now() - t0) / 1000 });
}

/** A full disk says so in words, with where to make room, next to the system's own error. */
function diskHint(ctx: AgentContext, reason: string): string {
  return /ENOSPC|No space left on device|SQLITE_FULL|database or disk is full/.test(reason) ? `${reason} (the disk of the data dir ${ctx.dataDir} is full: free space there)` : reason;
}

function failed(ctx: AgentContext, ctrl: ServiceController, sha: string, inputs: string, why: string, record: number, release?: string): false {
  const reason = diskHint(ctx, why);
  const attempts = ctrl.failure?.inputs === inputs ? ctrl.failure.attempts + 1 : 1;
  const wait = backoffMs(attempts, ctx.limits.retryBaseMs, ctx.limits.retryMaxMs);
  ctrl.setFailure(ctx, { inputs, attempts, retryAt: Date.now() + wait, reason });
  try {
    finishDeployRecord(ctx.db, record, { result: 'failed', reason, ...(release !== undefined ? { release } : {}) });
  } catch (e) {
    ctx.log(`${ctrl.name}: recording the failed deploy failed: ${(e as Error).message}`);
  }
  const serving = ctrl.serving?.release.config;
  const keeps = serving ? `; release ${serving.id} (${serving.sha.slice(0, 7)}) keeps serving` : '';
  const message = `deploy of ${sha.slice(0, 7)} failed: ${reason}${keeps}; retry in ${Math.round(wait / 1000)} s`;
  ctx.log(`${ctrl.name}: ${message}`);
  ctrl.status(ctx, 'failed', message);
  finished(ctx, ctrl.name, sha, record, 'failed', release ?? null, reason);
  return false;
}

/** Appends lines to a release's deploy log (its build log): the release phase and post-deploy output go there. */
function deployLog(ctx: AgentContext, service: string, releaseId: string, also?: LineSink): LineSink {
  const file = join(dataPaths.logs(ctx.dataDir, service), `build-${releaseId}.log`);
  return (line) => {
    const l = redactCredentials(line);
    try {
      appendFileSync(file, `${l}\n`);
    } catch {
      // The log dir went away with its service.
    }
    also?.(l);
  };
}

/**
 * The Procfile's `release:` line, once per new release, before any instance of it starts: a one-off in the release's
 * sandbox with its env. Its output goes to the deploy log (and `also`, a pusher's stream). Null when it passed.
 */
export async function releasePhase(ctx: AgentContext, service: string, release: Release, signal?: AbortSignal, also?: LineSink): Promise<string | null> {
  const command = release.config.releaseCommand;
  if (command === undefined) return null;
  const log = deployLog(ctx, service, release.config.id, also);
  log(`-----> Release phase: ${command}`);
  const r = await runOneOff(ctx, release, 'release', command, { log, timeoutMs: ctx.limits.buildTimeoutMs, ...(signal ? { signal } : {}) });
  if (r.code === 0 && !r.stopped) {
    log('-----> Release phase done');
    return null;
  }
  const why = r.stopped === 'timeout' ? 'did not finish in time and was killed' : r.stopped === 'aborted' ? 'was cancelled' : `failed (exit ${r.code ?? 'by signal'})`;
  log(`!      release phase ${why}`);
  const what = release.config.buildpack === 'registry' && command === './deploy' ? 'the deploy script ./deploy' : `Procfile release: ${command}`;
  return `release phase (${what}) ${why}; its output is in the deploy log`;
}

/** app.json's post-deploy script, once the new release serves: a failure is reported, nothing is rolled back. */
async function postdeploy(ctx: AgentContext, ctrl: ServiceController, release: Release): Promise<void> {
  const command = release.config.manifest?.postdeploy;
  if (command === undefined) return;
  const log = deployLog(ctx, ctrl.name, release.config.id);
  log(`-----> postdeploy (app.json): ${command}`);
  const r = await runOneOff(ctx, release, 'postdeploy', command, { log, timeoutMs: ctx.limits.buildTimeoutMs });
  if (r.code === 0 && !r.stopped) return log('-----> postdeploy done');
  const message = `postdeploy (app.json) of release ${release.config.id} failed (${r.stopped ?? `exit ${r.code ?? 'by signal'}`}); the release serves, see its deploy log`;
  log(`!      ${message}`);
  ctx.log(`${ctrl.name}: ${message}`);
  if (ctrl.serving?.release === release) ctrl.status(ctx, 'serving', message);
}

/**
 * One deploy of one service: build, release phase, start every process of the formation, health checks, switch.
 * Whatever fails leaves the serving release as it was. Returns whether the new release serves. The build and the
 * release phase run outside the controller's lock (a long build must not hold up a crash restart); start and switch
 * run under it.
 */
export async function deploy(ctx: AgentContext, ctrl: ServiceController, service: Service, sha: string, hqEnv: Readonly<Record<string, string>>, inputs: string, signal: AbortSignal, o: DeployHow = {}): Promise<boolean> {
  const { trigger, secrets } = o;
  const was = ctrl.serving?.release.config.sha;
  const why = trigger ?? (!was ? 'first deploy' : was !== sha ? `new sha, was ${was.slice(0, 7)}` : 'same sha: orders or HQ env changed');
  ctx.log(`${ctrl.name}: deploying ${service.orders.giturl} at ${sha.slice(0, 7)} (${why})`);
  const record = startDeployRecord(ctx.db, { service: ctrl.name, sha, trigger: why });
  startedAt.set(record, Date.now());
  ctx.emit({ kind: 'deploy-started', service: ctrl.name, sha, trigger: why });
  let release: Release;
  const buildKey = buildKeyOf(inputs);
  const reused = o.rebuild === true ? null : await builtBefore(ctx, ctrl.name, buildKey).catch(() => null);
  if (reused) {
    // Built from these same inputs before (a retry, an unpin, a deploy back): served again, never built twice.
    release = reused;
    ctx.log(`${ctrl.name}: release ${reused.config.id} was built from these same inputs: reused, nothing is built`);
  } else {
    ctrl.status(ctx, 'building', '', sha);
    const buildT0 = Date.now();
    const built = (ok: boolean): void => ctx.emit({ kind: 'build-finished', service: ctrl.name, sha, ok, seconds: (Date.now() - buildT0) / 1000 });
    try {
      // The ship's runtime decides the builds' sandbox too: a ship without one builds nothing (unless =process).
      const sandbox = ctx.runtime.sandbox();
      const base = await serviceBase(ctx, ctrl.name, service, sandbox, signal);
      release = await ctx.build.buildRelease(
        { service: ctrl.name, giturl: service.orders.giturl, sha, ordersEnv: service.orders.env, hqEnv, shipName: ctx.shipName, ...(base ? { base } : {}), ...(secrets ? { secrets } : {}), inputs, buildKey },
        { dataDir: ctx.dataDir, access: ctx.access, log: () => {}, signal, timeoutMs: ctx.limits.buildTimeoutMs, quietMs: ctx.limits.buildQuietMs, sandbox },
      );
    } catch (e) {
      if (signal.aborted) return cancelled(ctx, ctrl.name, sha, record);
      built(false);
      return failed(ctx, ctrl, sha, inputs, `build failed: ${(e as Error).message}`, record);
    }
    built(true);
  }
  if (signal.aborted) return cancelled(ctx, ctrl.name, sha, record);
  const id = release.config.id;
  // A release without a web process (a worker-only Procfile) runs its other types unrouted, as Dokku does: the
  // controller says "no web process: not routed" in its status and the route table leaves it out.
  const slots = slotsOf(formationOf(release, service.orders.scale));
  ctrl.status(ctx, 'starting', 'release phase', sha);
  // Once per phleet: on the release ship; the others wait for its ships/ entry to say it succeeded.
  // A reused release whose release phase passed before only restarts (deploy/reuse.ts).
  const passed = reused !== null && releasePhasePassed(ctx, ctrl.name, id);
  // release_pause (orders): requests are held from before the release command until the new release serves, or the
  // old one again when the command or the start fails (traffic/traffic.ts).
  const resume = passed ? null : await ctx.traffic.pauseForRelease(ctrl, service.orders, release);
  let ok: boolean;
  try {
    const phase = passed ? null : await phleetReleasePhase(ctx, ctrl, release, { run: () => releasePhase(ctx, ctrl.name, release, signal), log: deployLog(ctx, ctrl.name, id), signal, hqEnv });
    if (signal.aborted) return cancelled(ctx, ctrl.name, sha, record);
    if (phase !== null) return failed(ctx, ctrl, sha, inputs, `release ${id}: ${phase}`, record, id);
    if (!passed) await markReleasePhasePassed(ctx, ctrl.name, id);
    ok = await ctrl.serial(async () => {
      if (signal.aborted || ctrl.removed) return cancelled(ctx, ctrl.name, sha, record);
      ctrl.status(ctx, 'starting', '', sha);
      const r = await startSlots(ctx, ctrl.name, release, slots, signal);
      if (!r.ok) return signal.aborted ? cancelled(ctx, ctrl.name, sha, record) : failed(ctx, ctrl, sha, inputs, `release ${id}: ${r.reason}`, record, id);
      if (signal.aborted || ctrl.removed) {
        await Promise.all(slots.map((s) => s.instance?.stop(ctx.limits.stopGraceMs)));
        return cancelled(ctx, ctrl.name, sha, record);
      }
      ctrl.clearFailure(ctx);
      try {
        // A rollout keeps the release serving now as its stable side (traffic/rollouts.ts).
        await ctx.traffic.rollouts.switchTo(ctrl, release, slots, inputs);
      } catch (e) {
        // It serves (the route moved, the old instances stopped); only its recording failed, which switchTo logged.
        ctrl.status(ctx, 'serving', `release ${id} serves, but recording the switch failed: ${(e as Error).message}`);
      }
      finishDeployRecord(ctx.db, record, { result: 'serving', release: id });
      finished(ctx, ctrl.name, sha, record, 'serving', id, '');
      return true;
    });
  } finally {
    await resume?.();
  }
  if (ok) await postdeploy(ctx, ctrl, release);
  return ok;
}

/**
 * The container base of the orders' STARPHLEET_BASE, built first if this content of containers/<name> never was; its
 * output goes to logs/<service>/base-<name>.log. A failing script fails this service's deploy only.
 */
async function serviceBase(ctx: AgentContext, service: string, s: Service, sandbox: ReturnType<AgentContext['runtime']['sandbox']>, signal: AbortSignal): Promise<{ name: string; hash: string } | null> {
  const name = serviceBaseSetting(s.orders.env);
  if (name === undefined || name === '') return null;
  const logs = dataPaths.logs(ctx.dataDir, service);
  mkdirSync(logs, { recursive: true });
  const logFile = join(logs, `base-${name.replace(/[^A-Za-z0-9._~-]/g, '_')}.log`);
  try {
    return await ensureBase({ dataDir: ctx.dataDir, hqDir: join(ctx.dataDir, 'hq'), name, sandbox, logFile, timeoutMs: ctx.limits.buildTimeoutMs, signal });
  } catch (e) {
    throw new Error(`${(e as Error).message} (log: logs/${service}/base-${name}.log)`);
  }
}

function cancelled(ctx: AgentContext, service: string, sha: string, record: number): false {
  finishDeployRecord(ctx.db, record, { result: 'cancelled', reason: 'cancelled' });
  finished(ctx, service, sha, record, 'cancelled', null, 'cancelled');
  return false;
}
