import { join } from 'node:path';
import { recordReleasePhase, releasePhaseOf, releaseShip } from '../../phleet/release-gate.js';
import { shipsCheckout } from '../../phleet/ships-checkout.js';
import { abortableSleep } from '../../util/abortable-sleep.js';
import type { AgentContext } from '../context.js';
import type { LineSink, Release } from '../types.js';
import type { ServiceController } from './controller.js';

export interface PhleetReleaseOptions {
  /** Runs the release's own release phase here: null when it passed, else the reason. */
  readonly run: () => Promise<string | null>;
  /** The deploy log of the release: what the gate decided goes there too. */
  readonly log: LineSink;
  readonly signal: AbortSignal;
  /** HQ .starphleet: whether ships/ is read from a write-back repo of its own (STARPHLEET_WRITEBACK). */
  readonly hqEnv?: Readonly<Record<string, string>>;
  /** How often to read the release ship's entry while waiting (the HQ checkout moves once a pulse). */
  readonly pollMs?: number;
  /** How long to wait for the release ship before the deploy fails (and retries with backoff). */
  readonly waitMs?: number;
}

/**
 * The release phase once per phleet: a release with a `release:` command runs it on one ship only (the first canary,
 * else the first name in ships/); the other ships start that release only once the release ship's ships/ entry says
 * its release phase succeeded for this sha. A deploy-only registry release's `deploy` script is the deploy itself of
 * each ship, so it runs everywhere. Null when the release may start here, else why not.
 */
export async function phleetReleasePhase(ctx: AgentContext, ctrl: ServiceController, release: Release, o: PhleetReleaseOptions): Promise<string | null> {
  const cfg = release.config;
  if (cfg.releaseCommand === undefined || cfg.deployOnly === true) return o.run();
  const hqDir = join(ctx.dataDir, 'hq');
  const shipsDir = shipsCheckout(ctx.dataDir, o.hqEnv);
  const leader = releaseShip(hqDir, shipsDir, ctx.shipName);
  if (leader === null || leader === ctx.shipName) {
    const phase = await o.run();
    if (o.signal.aborted) return phase;
    // Recorded even by a ship that knows no other yet: a ship joining later may take it for the release ship.
    await recordReleasePhase(ctx.dataDir, ctrl.name, cfg.sha, phase === null);
    return phase;
  }
  const sha7 = cfg.sha.slice(0, 7);
  const waiting = `waiting for the release phase of ${sha7} on ship ${leader} (the phleet runs it once)`;
  o.log(`-----> Release phase: ${waiting}`);
  ctx.log(`${ctrl.name}: ${waiting}`);
  ctrl.status(ctx, 'starting', waiting, cfg.sha);
  const until = Date.now() + (o.waitMs ?? ctx.limits.buildTimeoutMs * 2);
  for (;;) {
    const state = releasePhaseOf(shipsDir, leader, ctrl.name, cfg.sha);
    if (state === 'succeeded') {
      o.log(`-----> Release phase of ${sha7} succeeded on ship ${leader}: not run here`);
      return null;
    }
    if (state === 'failed') {
      o.log(`!      release phase of ${sha7} failed on ship ${leader}`);
      return `release phase failed on ship ${leader} for ${sha7} (it runs once per phleet there; see its deploy log)`;
    }
    if (o.signal.aborted) return 'cancelled';
    if (Date.now() >= until) {
      o.log(`!      ship ${leader} did not report the release phase of ${sha7} in time`);
      return `ship ${leader} did not report the release phase of ${sha7} in its ships/ entry within ${Math.round((o.waitMs ?? ctx.limits.buildTimeoutMs * 2) / 1000)} s`;
    }
    await abortableSleep(o.pollMs ?? 1000, o.signal);
  }
}
