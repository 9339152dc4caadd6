import { COUNT, numberSetting } from '../settings/number-setting.js';

/**
 * Bounds of a `git push` test build, so a compressed blob bomb cannot be multiplied across the push repo, the
 * source checkout, the build copy, the layers and the release:
 * - STARPHLEET_PUSH_MAX_BYTES: the pack a push may send (git's receive.maxInputSize), default 512 MiB;
 * - STARPHLEET_PUSH_MAX_CHECKOUT_BYTES: what the pushed tree holds once checked out, default 2 GiB (the bound of a
 *   release's layers, src/archive), checked from the objects' sizes before anything is checked out.
 */
export function pushMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  return numberSetting(env.STARPHLEET_PUSH_MAX_BYTES, 'STARPHLEET_PUSH_MAX_BYTES', 512 * 1024 * 1024, COUNT);
}

export function pushMaxCheckoutBytes(env: NodeJS.ProcessEnv = process.env): number {
  return numberSetting(env.STARPHLEET_PUSH_MAX_CHECKOUT_BYTES, 'STARPHLEET_PUSH_MAX_CHECKOUT_BYTES', 2 * 1024 ** 3, COUNT);
}
