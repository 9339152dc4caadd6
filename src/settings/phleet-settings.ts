import { COUNT, numberSetting, POSITIVE_SECONDS } from './number-setting.js';

/**
 * The settings of what a ship does with the rest of the phleet and the world: HQ's webhook, notifications, the log
 * sink, the ships' write-back, the dashboard, the admiral's SSH, and the bounds of what it downloads and unpacks.
 */
type Env = Readonly<Record<string, string | undefined>>;

/** A setting HQ `.starphleet` may give (it wins) or the ship's env: its value and where it came from, for errors. */
export interface SettingFrom {
  readonly raw: string | undefined;
  readonly where: string;
}

function hqThenShip(name: string, hqValue: string | undefined, shipValue: string | undefined): SettingFrom {
  return { raw: hqValue ?? shipValue, where: hqValue !== undefined ? `.starphleet ${name}` : `${name} (ship env)` };
}

/** STARPHLEET_WEBHOOK_SECRET (HQ `.starphleet`): the secret HQ's push webhook signs with; none: the webhook is off. */
export function webhookSecretSetting(hqEnv: Env | undefined): string | undefined {
  return hqEnv?.STARPHLEET_WEBHOOK_SECRET;
}

/** STARPHLEET_NOTIFY (HQ `.starphleet`, else the ship env): where problems are announced; none by default. */
export function notifySetting(hqEnv: Env, env: Env): SettingFrom {
  return hqThenShip('STARPHLEET_NOTIFY', hqEnv.STARPHLEET_NOTIFY, env.STARPHLEET_NOTIFY);
}

/** STARPHLEET_NOTIFY_QUEUE (ship env): notifications held while their target is down; the notifier's default. */
export function notifyQueueSetting(dflt: number, env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_NOTIFY_QUEUE, 'STARPHLEET_NOTIFY_QUEUE', dflt, COUNT);
}

/** STARPHLEET_LOG_SINK (HQ `.starphleet`, else the ship env): where the ship's and instances' log lines are sent; none. */
export function logSinkSetting(hqEnv: Env, env: Env): SettingFrom {
  return hqThenShip('STARPHLEET_LOG_SINK', hqEnv.STARPHLEET_LOG_SINK, env.STARPHLEET_LOG_SINK);
}

/** STARPHLEET_WRITEBACK (HQ `.starphleet`, else the ship env): the git url#branch ships publish their state to; none. */
export function writebackRaw(hqEnv: Env | undefined, env: Env = process.env): string | undefined {
  return hqEnv?.STARPHLEET_WRITEBACK ?? env.STARPHLEET_WRITEBACK;
}

/**
 * STARPHLEET_DASHBOARD_LOGIN_SECONDS (120) and STARPHLEET_DASHBOARD_SESSION_SECONDS (8 hours), from HQ `.starphleet`:
 * how long a dashboard login link and a dashboard session last.
 */
export function dashboardSessionSettings(hqEnv: Env): { loginSeconds: number; sessionSeconds: number } {
  return {
    loginSeconds: numberSetting(hqEnv.STARPHLEET_DASHBOARD_LOGIN_SECONDS, 'STARPHLEET_DASHBOARD_LOGIN_SECONDS', 120, POSITIVE_SECONDS),
    sessionSeconds: numberSetting(hqEnv.STARPHLEET_DASHBOARD_SESSION_SECONDS, 'STARPHLEET_DASHBOARD_SESSION_SECONDS', 8 * 3600, POSITIVE_SECONDS),
  };
}

/** STARPHLEET_DASHBOARD_URL (HQ `.starphleet`): the dashboard's public address in login links; default the ship's listener. */
export function dashboardUrlSetting(hqEnv: Env | undefined): string | undefined {
  return hqEnv?.STARPHLEET_DASHBOARD_URL;
}

/** STARPHLEET_SSH_COMMAND (the admiral's env): the ssh the CLI runs to reach a ship, run by sh like GIT_SSH_COMMAND; `ssh`. */
export function sshCommand(env: Env = process.env): string {
  const c = env.STARPHLEET_SSH_COMMAND?.trim();
  return c ? c : 'ssh';
}

/** STARPHLEET_ADMIRAL_KEY (the admiral's env): the key that signs phleet requests (or its .pub); unset: ~/.ssh's. */
export function admiralKeySetting(env: Env = process.env): string | undefined {
  return env.STARPHLEET_ADMIRAL_KEY || undefined;
}

/** STARPHLEET_INCOMING_MAX_BYTES (ship env): the most one download from another ship or a registry may hold. */
export function incomingMaxBytesSetting(dflt: number, env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_INCOMING_MAX_BYTES, 'STARPHLEET_INCOMING_MAX_BYTES', dflt, COUNT);
}

/** STARPHLEET_ARCHIVE_MAX_BYTES, _MAX_MEMBERS and _MAX_DEPTH (ship env): bounds of an archive unpacked; src/archive's defaults. */
export function archiveLimitSettings<T extends { maxBytes: number; maxMembers: number; maxDepth: number }>(dflt: T, env: Env = process.env): { maxBytes: number; maxMembers: number; maxDepth: number } {
  return {
    maxBytes: numberSetting(env.STARPHLEET_ARCHIVE_MAX_BYTES, 'STARPHLEET_ARCHIVE_MAX_BYTES', dflt.maxBytes, COUNT),
    maxMembers: numberSetting(env.STARPHLEET_ARCHIVE_MAX_MEMBERS, 'STARPHLEET_ARCHIVE_MAX_MEMBERS', dflt.maxMembers, COUNT),
    maxDepth: numberSetting(env.STARPHLEET_ARCHIVE_MAX_DEPTH, 'STARPHLEET_ARCHIVE_MAX_DEPTH', dflt.maxDepth, COUNT),
  };
}
