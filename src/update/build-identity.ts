import { readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { updateUserSetting } from '../settings/update-settings.js';
import { registrySettings } from '../settings/registry-settings.js';

/** Who runs a new version's `npm ci` and build: an unprivileged user when the ship is root. */
export interface BuildIdentity {
  readonly user: string;
  readonly uid: number;
  readonly gid: number;
}

/** STARPHLEET_UPDATE_USER (default nobody) when the ship runs as root; null otherwise (or when set to root). */
export function buildIdentity(env: NodeJS.ProcessEnv = process.env, passwd = '/etc/passwd'): BuildIdentity | null {
  if (process.getuid?.() !== 0) return null;
  const user = updateUserSetting(env);
  if (user === 'root') return null;
  for (const line of readFileSync(passwd, 'utf8').split('\n')) {
    const [name, , uid, gid] = line.split(':');
    if (name === user && uid !== undefined && gid !== undefined) return { user, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(`STARPHLEET_UPDATE_USER: no user ${JSON.stringify(user)} in ${passwd} (the new version's npm ci and build run as that user)`);
}

/** Besides the registry settings, the locale and time zone npm's scripts print in. */
const PASSED = ['LANG', 'LC_ALL', 'TZ'];

/**
 * The environment of a new version's `npm ci` and build: a PATH with this node first, a HOME and npm cache of its
 * own, the registry settings (settings/registry-settings.ts) and the few above. Nothing else of the ship's environment
 * (secrets, STARPHLEET_*, git credentials) reaches the install scripts of the new version's dependencies.
 */
export function buildEnv(env: NodeJS.ProcessEnv, home: string): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = registrySettings(env);
  for (const k of PASSED) if (env[k] !== undefined) out[k] = env[k];
  return {
    ...out,
    PATH: `${dirname(process.execPath)}:/usr/local/bin:/usr/bin:/bin`,
    HOME: home,
    npm_config_cache: `${home}/.npm`,
    npm_config_update_notifier: 'false',
  };
}
