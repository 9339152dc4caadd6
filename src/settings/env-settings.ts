import { resolve } from 'node:path';
import { ConfigError } from './config-error.js';
import { COUNT, numberSetting, POSITIVE_SECONDS, SECONDS } from './number-setting.js';

/**
 * The STARPHLEET_* settings read outside the ship's start (ship-options.ts reads those): each one here, typed, with
 * its default, so no other room reads process.env for a setting (scripts/check-house.mjs holds the line). Settings
 * HQ `.starphleet` may give for the whole phleet take its env first (`hqEnv`), then the ship's own.
 */
type Env = Readonly<Record<string, string | undefined>>;

/** STARPHLEET_DATA: the ship's data dir for commands run beside it (`--data` wins); default /var/starphleet. */
export function dataDirSetting(flag?: string, env: Env = process.env): string {
  return resolve(flag ?? env.STARPHLEET_DATA ?? '/var/starphleet');
}

/** STARPHLEET_DATA as given, or undefined (a command that looks for a ship only when one is named). */
export function givenDataDir(flag?: string, env: Env = process.env): string | undefined {
  return flag ?? env.STARPHLEET_DATA;
}

/** STARPHLEET_PUSH_ID: the `git push` build a pre-receive hook belongs to (set by the ship for that hook only). */
export function pushIdSetting(env: Env = process.env): string {
  return env.STARPHLEET_PUSH_ID ?? '';
}

/** STARPHLEET_HANDOFF_SECONDS (HQ, else the ship): how long a moved service serves here waiting for its new ship. */
export function handoffSeconds(hqEnv: Env, fallback: number, env: Env = process.env): number {
  try {
    return numberSetting(hqEnv.STARPHLEET_HANDOFF_SECONDS ?? env.STARPHLEET_HANDOFF_SECONDS, 'STARPHLEET_HANDOFF_SECONDS', fallback, SECONDS);
  } catch {
    return fallback;
  }
}

/** STARPHLEET_CANARY_SECONDS (HQ, else the ship): how long a canary release serves before the rest follow; 60. */
export function canarySeconds(hqEnv: Env, env: Env = process.env): number {
  const raw = hqEnv.STARPHLEET_CANARY_SECONDS ?? env.STARPHLEET_CANARY_SECONDS;
  const n = raw === undefined ? NaN : Number(raw);
  return Number.isFinite(n) && n >= 0 ? n : 60;
}

/** STARPHLEET_HQ_TIMEOUT: seconds a pulse's ls-remote of HQ may take before HQ counts as unreachable; 30. */
export function hqTimeoutSeconds(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_HQ_TIMEOUT, 'STARPHLEET_HQ_TIMEOUT', 30, POSITIVE_SECONDS);
}

/** STARPHLEET_HQ_BACKOFF_MAX (HQ, else the ship) in seconds; throws a ConfigError-style message on a bad value. */
export function hqBackoffMaxSeconds(hqEnv: Env | undefined, fallback: number, env: Env = process.env): number {
  return numberSetting(hqEnv?.STARPHLEET_HQ_BACKOFF_MAX ?? env.STARPHLEET_HQ_BACKOFF_MAX, 'STARPHLEET_HQ_BACKOFF_MAX', fallback, POSITIVE_SECONDS);
}

/** STARPHLEET_LOG_SINK_CONFIRM: seconds a log line sent to the sink waits before its cursor counts as confirmed; 5. */
export function logSinkConfirmSeconds(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_LOG_SINK_CONFIRM, 'STARPHLEET_LOG_SINK_CONFIRM', 5, SECONDS);
}

/** STARPHLEET_REGISTRY_MAXVER: how many versions of a registry configuration are kept. */
export function registryMaxVersions(fallback: number, env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_REGISTRY_MAXVER, 'STARPHLEET_REGISTRY_MAXVER', fallback, COUNT);
}

/** STARPHLEET_REMOTE given to the ship itself (it wins over HQ .starphleet's). */
export function shipUpdateRemote(env: Env = process.env): string | undefined {
  return env.STARPHLEET_REMOTE || undefined;
}

/** STARPHLEET_UNIT_MAIN_PID: after a hand-over, the process systemd tracks as the unit's main one is this one. */
export function recordUnitMainPid(pid: number, env: NodeJS.ProcessEnv = process.env): void {
  env.STARPHLEET_UNIT_MAIN_PID = String(pid);
}

/** STARPHLEET_SSH_NIST_KEX (ship env): `on` offers the NIST curves' key exchange too; `off` (the default) does not. */
export function sshNistKexSetting(env: Env = process.env): boolean {
  const raw = env.STARPHLEET_SSH_NIST_KEX;
  if (raw !== undefined && raw !== 'on' && raw !== 'off') throw new ConfigError(`STARPHLEET_SSH_NIST_KEX must be on or off, got ${JSON.stringify(raw)}`);
  return raw === 'on';
}
