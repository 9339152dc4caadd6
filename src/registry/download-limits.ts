import { incomingMaxBytesSetting } from '../settings/phleet-settings.js';

/** A configuration file from another ship: at most 1 MiB (thousands of layers). */
export const CONFIG_MAX_BYTES = 1024 * 1024;

/** STARPHLEET_INCOMING_MAX_BYTES when unset: 1 GiB. */
const DEFAULT_INCOMING_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * The most bytes one layer may have on its way in, before a byte of it is trusted (its hash and members are checked
 * only once it is here), whichever way it comes: an admiral's SFTP upload to /incoming/ (server/sftp/upload-session.ts)
 * or a download from another ship's registry (remote.ts). One setting for both, so a layer one ship took can be
 * fetched by the next.
 */
export function incomingMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  return incomingMaxBytesSetting(DEFAULT_INCOMING_MAX_BYTES, env);
}
