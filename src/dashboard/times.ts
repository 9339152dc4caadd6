import type { SessionTimes } from './sessions.js';
import { dashboardSessionSettings } from '../settings/phleet-settings.js';

/** The dashboard's ship settings from HQ `.starphleet` (a bad value fails `starphleet dashboard`, naming it). */
export function sessionTimes(env: Readonly<Record<string, string>>): SessionTimes {
  return dashboardSessionSettings(env);
}
