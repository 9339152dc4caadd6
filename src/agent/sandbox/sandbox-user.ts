import { DEFAULT_SANDBOX_USER, sandboxUserSetting } from '../../settings/agent-settings.js';

/**
 * The unprivileged host user a production ship provisions container bases as (each service's builds and instances
 * run as a uid of their own: src/agent/sandbox/service-users.ts). `starphleet install
 * --sandbox-user NAME` creates it and puts STARPHLEET_SANDBOX_USER=NAME in the unit's environment; the runtime reads
 * the same variable, and the same default (settings/agent-settings.ts: one name for both, so they cannot disagree).
 */
export { DEFAULT_SANDBOX_USER };

/** The sandbox user this ship uses: STARPHLEET_SANDBOX_USER, else the default. */
export function sandboxUser(env: NodeJS.ProcessEnv = process.env): string {
  return sandboxUserSetting(env) ?? DEFAULT_SANDBOX_USER;
}

/** A user name useradd accepts everywhere (Debian's default NAME_REGEX, without the trailing `$` of machine accounts). */
export const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
