import { COUNT, numberSetting } from '../util/number-setting.js';

/**
 * How much this ship takes from another ship's registry before a byte of it is trusted (its hash and members are
 * checked only once it is here): a layer at most what an admiral may upload here (STARPHLEET_INCOMING_MAX_BYTES, the
 * same default as server/sftp/uploads.ts), a configuration file at most 1 MiB (thousands of layers).
 */
export const CONFIG_MAX_BYTES = 1024 * 1024;

export function layerDownloadMaxBytes(env: NodeJS.ProcessEnv = process.env): number {
  return numberSetting(env.STARPHLEET_INCOMING_MAX_BYTES, 'STARPHLEET_INCOMING_MAX_BYTES', 1024 * 1024 * 1024, COUNT);
}
