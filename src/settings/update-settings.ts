import { numberSetting, POSITIVE_SECONDS, SECONDS } from './number-setting.js';

/** The settings of the ship's self-update and its hand-over to the new version, each read here with its default. */
type Env = Readonly<Record<string, string | undefined>>;

/** STARPHLEET_REMOTE in HQ `.starphleet`: the update remote every ship of the phleet follows (the ship's own env wins). */
export function hqUpdateRemote(hqEnv: Env | undefined): string | undefined {
  return hqEnv?.STARPHLEET_REMOTE;
}

/** STARPHLEET_HANDOVER_GRACE (ship env): seconds the old ship's requests and SSH sessions get after a hand-over; 60. */
export function handoverGraceMs(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_HANDOVER_GRACE, 'STARPHLEET_HANDOVER_GRACE', 60, SECONDS) * 1000;
}

/** STARPHLEET_UPDATE_USER (ship env): the user a root ship builds its update as; default nobody (root: no other user). */
export function updateUserSetting(env: Env = process.env): string {
  return env.STARPHLEET_UPDATE_USER || 'nobody';
}

/**
 * STARPHLEET_UPDATE_SIGNERS (ship env): `admirals` makes an update need a commit signed by an admiral's key; unset or
 * empty: no signature is asked for. Any other value is refused, so a typo never silently turns the check off.
 */
export function updateSigners(env: Env = process.env): 'admirals' | null {
  const v = env.STARPHLEET_UPDATE_SIGNERS;
  if (v === undefined || v === '') return null;
  if (v === 'admirals') return 'admirals';
  throw new Error(`STARPHLEET_UPDATE_SIGNERS must be "admirals" (or unset), got ${JSON.stringify(v)}`);
}

/** STARPHLEET_UNIT_MAIN_PID (ship env, set by a ship once it is the unit's main process): the pid systemd tracks. */
export function unitMainPidSetting(env: Env = process.env): string | undefined {
  return env.STARPHLEET_UNIT_MAIN_PID;
}

/** STARPHLEET_UPDATE_TIMEOUT (ship env): seconds each build step of an update may take; 900. */
export function updateStepMs(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_UPDATE_TIMEOUT, 'STARPHLEET_UPDATE_TIMEOUT', 900, POSITIVE_SECONDS) * 1000;
}

/** STARPHLEET_HANDOVER_TIMEOUT (ship env): seconds the new ship of an update has to start and say it is ready; 120. */
export function handoverReadyMs(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_HANDOVER_TIMEOUT, 'STARPHLEET_HANDOVER_TIMEOUT', 120, POSITIVE_SECONDS) * 1000;
}
