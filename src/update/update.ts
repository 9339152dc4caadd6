import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { formatGitRef } from '../headquarters/giturl.js';
import type { Admiral } from '../headquarters/types.js';
import type { ShipOptions } from '../settings/ship-options.js';
import type { Logger } from '../log.js';
import { PACKAGE_ROOT, VERSION } from '../version.js';
import { buildVersion, StepFailed } from './build.js';
import { handOver, type HandoverHooks } from './handover-old-ship.js';
import { handoverGraceMs } from './handover-messages.js';
import { buildIdentity } from './build-identity.js';
import { forwardProblem } from './forward.js';
import { cloneVersion, newestCommit, runningCommit, updateRemote, versionsDir } from './source.js';
import { updateSigners, verifyAdmiralSignature } from './signers.js';
import { promote } from './versions.js';
import { shipUpdateRemote } from '../settings/env-settings.js';
import { handoverReadyMs, updateStepMs } from '../settings/update-settings.js';

/**
 * What an update needs of the running ship: where its data is, its key, its log, what it lends its successor, and
 * HQ's admirals (whose keys may sign updates).
 */
export interface UpdateShip {
  readonly options: Pick<ShipOptions, 'dataDir' | 'privateKey'>;
  readonly headquarters: { readonly current: { readonly admirals: readonly Admiral[] } | null };
  readonly log: Logger;
  readonly handover: HandoverHooks;
}

export interface UpdateIo {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Aborted when the caller goes away: before the hand-over that cancels the update; after it, the old ship retires. */
  readonly signal: AbortSignal;
  /** Where STARPHLEET_REMOTE came from, for the message when it cannot be reached (default: the ship's env). */
  readonly remoteFrom?: string;
  /** The admiral said --allow-downgrade in the session: a signed commit that does not go forward may install. */
  readonly allowDowngrade?: boolean;
}

/** What to do when the update remote cannot be reached: where it came from and the two places to set another. */
export function remoteHint(env: NodeJS.ProcessEnv, from: string | undefined): string {
  const source = shipUpdateRemote(env) !== undefined ? `STARPHLEET_REMOTE from ${from ?? "the ship's environment"}` : "the default (package.json's repository), as STARPHLEET_REMOTE is not set";
  return `this is ${source}. Set STARPHLEET_REMOTE to a git url#branch this ship can reach: in the ship's environment (under systemd: /etc/starphleet/ship.env, then systemctl restart starphleet), or for every ship in HQ .starphleet (export STARPHLEET_REMOTE=https://example.com/starphleet.git#main)`;
}

export function describeVersion(version: string, sha: string | null): string {
  return sha ? `${version} @ ${sha.slice(0, 7)}` : version;
}

/** One update at a time per ship process; after a hand-over this stays set: the process is on its way out. */
let busy = false;

/**
 * `ssh update@ship` and `starphleet update`: fetch the newest commit of the update remote, and if it is not the one
 * running, install it beside this one (<data>/versions/<sha>), build and check it, and hand the ship over to it.
 * Any failure leaves this ship serving and returns non-zero with the reason. STARPHLEET_UPDATE_TIMEOUT (s, 900) limits
 * each build step, STARPHLEET_HANDOVER_TIMEOUT (s, 120) the new ship's start.
 */
export async function runUpdate(ship: UpdateShip, io: UpdateIo, env: NodeJS.ProcessEnv = process.env): Promise<number> {
  if (busy) {
    io.err('starphleet update: an update is already in progress on this ship\n');
    return 1;
  }
  busy = true;
  let handedOver = false;
  const dataDir = ship.options.dataDir;
  let fetched: string | null = null;
  try {
    const stepMs = updateStepMs(env);
    const readyMs = handoverReadyMs(env);
    const remote = updateRemote(env);
    const signers = updateSigners(env);
    const access = { ...(ship.options.privateKey ? { privateKey: ship.options.privateKey } : {}), knownHostsFile: join(dataDir, 'known_hosts') };
    const running = await runningCommit();
    const old = describeVersion(VERSION, running);
    io.out(`running ${old}; checking ${formatGitRef(remote)}\n`);
    const newest = await newestCommit(remote, access).catch((e: unknown) => {
      throw new Error(`cannot reach the update remote ${formatGitRef(remote)}: ${(e as Error).message.trim()}; ${remoteHint(env, io.remoteFrom)}`);
    });
    if (newest === running) {
      io.out(`already up to date (${old})\n`);
      return 0;
    }
    const { sha, dir } = await cloneVersion(dataDir, remote, access);
    if (sha === running) {
      rmSync(dir, { recursive: true, force: true });
      io.out(`already up to date (${old})\n`);
      return 0;
    }
    fetched = dir;
    io.out(`fetched ${sha} into ${dir}\n`);
    if (signers === 'admirals') {
      const by = await verifyAdmiralSignature(dir, sha, ship.headquarters.current?.admirals ?? []);
      io.out(`${sha.slice(0, 7)} is signed by ${by}\n`);
    }
    if (signers === 'admirals') {
      const backwards = await forwardProblem(dir, sha, running, VERSION);
      if (backwards !== null && !io.allowDowngrade) throw new Error(backwards);
      if (backwards !== null) io.out(`${sha.slice(0, 7)} does not go forward; installing it as the admiral allowed (--allow-downgrade)\n`);
    }
    const version = await buildVersion({ dir, runningRoot: PACKAGE_ROOT, progress: io.out, timeoutMs: stepMs, signal: io.signal, home: join(versionsDir(dataDir), '.build-home'), as: buildIdentity(env), env });
    const next = describeVersion(version, sha);
    io.out(`built ${next}: it runs; handing the ship over to it\n`);
    const r = await handOver(ship.handover, { cli: join(dir, 'dist', 'cli.js'), progress: io.out, timeoutMs: readyMs });
    if (!r.ok) {
      io.err(`starphleet update: ${r.reason}; still running ${old}\n`);
      return 1;
    }
    handedOver = true;
    fetched = null;
    promote(dataDir, dir, PACKAGE_ROOT);
    ship.log(`updated ${old} -> ${next}`);
    io.out(`updated ${old} -> ${next}\n`);
    // The reply must reach the caller before this process goes: retire once the caller hung up (or after the grace).
    const callerGone = new Promise<void>((r) => {
      if (io.signal.aborted) return r();
      io.signal.addEventListener('abort', () => r(), { once: true });
      setTimeout(r, handoverGraceMs(env)).unref();
    });
    void callerGone
      .then(() => ship.handover.retire())
      .catch((e: unknown) => ship.log(`retiring after the hand-over: ${(e as Error).message}`))
      .finally(() => process.exit(0));
    return 0;
  } catch (e) {
    const why = e instanceof StepFailed ? e.message : `${(e as Error).message}`;
    io.err(`starphleet update: ${why}; still running ${describeVersion(VERSION, await runningCommit().catch(() => null))}\n`);
    return 1;
  } finally {
    // A failed version is not kept: the next update fetches it afresh. (The previous version is never touched here.)
    if (fetched) rmSync(fetched, { recursive: true, force: true });
    if (!handedOver) busy = false;
  }
}
