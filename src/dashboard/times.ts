import { numberSetting, POSITIVE_SECONDS } from '../settings/number-setting.js';
import type { SessionTimes } from './sessions.js';

/** The dashboard's ship settings from HQ `.starphleet` (a bad value fails `starphleet dashboard`, naming it). */
export function sessionTimes(env: Readonly<Record<string, string>>): SessionTimes {
  return {
    loginSeconds: numberSetting(env.STARPHLEET_DASHBOARD_LOGIN_SECONDS, 'STARPHLEET_DASHBOARD_LOGIN_SECONDS', 120, POSITIVE_SECONDS),
    sessionSeconds: numberSetting(env.STARPHLEET_DASHBOARD_SESSION_SECONDS, 'STARPHLEET_DASHBOARD_SESSION_SECONDS', 8 * 3600, POSITIVE_SECONDS),
  };
}
