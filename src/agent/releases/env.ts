import { redactCredentials } from '../../util/redact.js';

/** Everything that decides a release's env, lowest precedence first. */
export interface EnvSources {
  /** `config_vars` of the buildpack's bin/release: defaults the app may override (Heroku semantics). */
  readonly buildpackDefaults?: Readonly<Record<string, string>>;
  /** The service repo's `.env`. */
  readonly repoEnv: Readonly<Record<string, string>>;
  /** Exports of the orders file. */
  readonly ordersEnv: Readonly<Record<string, string>>;
  /** Exports of HQ `.starphleet`. */
  readonly hqEnv: Readonly<Record<string, string>>;
  readonly giturl: string;
  readonly shipName: string;
  readonly deployTime: Date;
}

/** Names the ship sets itself: nobody's config may replace them. PORT is left out: the run side gives one per instance. */
export const SHIP_SET = ['PORT', 'STARPHLEET_DEPLOY_TIME', 'STARPHLEET_DEPLOY_GITURL', 'STARPHLEET_SHIP'] as const;

/**
 * HQ `.starphleet` names beginning with STARPHLEET_ configure the ship (webhook secret, ACME, update remote...): they
 * are not service env, never reach a build or an instance, and (left out of the deploy inputs) redeploy nothing.
 */
export function serviceEnvOfHq(hqEnv: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(hqEnv)) if (!k.startsWith('STARPHLEET_')) out[k] = v;
  return out;
}

/**
 * HQ `.starphleet` names that are phleet-wide defaults of every service's settings: below the service's orders (which
 * win), never from a repo or a buildpack. STARPHLEET_DISK: the size of each service's volume.
 */
const HQ_SERVICE_DEFAULTS: readonly string[] = ['STARPHLEET_DISK'];

export function serviceDefaultsOfHq(hqEnv: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of HQ_SERVICE_DEFAULTS) {
    const v = hqEnv[k];
    if (v !== undefined) out[k] = v;
  }
  return out;
}

/**
 * A service repo (its `.env`, or a buildpack it chose) configures its service, never the ship: STARPHLEET_* names
 * (limits, base, worker-up time, anything the ship reads) are HQ's alone. Returns the env without them and the names
 * that were dropped, for the build log.
 */
export function withoutShipNames(env: Readonly<Record<string, string>>): { env: Record<string, string>; ignored: string[] } {
  const out: Record<string, string> = {};
  const ignored: string[] = [];
  for (const [k, v] of Object.entries(env)) {
    if (k.startsWith('STARPHLEET_')) ignored.push(k);
    else out[k] = v;
  }
  return { env: out, ignored };
}

/**
 * Buildpack defaults < repo .env < HQ .starphleet's service defaults (STARPHLEET_DISK) < orders exports < HQ
 * .starphleet (without ship settings), then the ship's own STARPHLEET_* (PORT comes per instance). STARPHLEET_* names
 * of the repo and the buildpacks never count.
 */
export function resolveEnv(s: EnvSources): Record<string, string> {
  const env: Record<string, string> = {
    ...withoutShipNames(s.buildpackDefaults ?? {}).env,
    ...withoutShipNames(s.repoEnv).env,
    ...serviceDefaultsOfHq(s.hqEnv),
    ...s.ordersEnv,
    ...serviceEnvOfHq(s.hqEnv),
  };
  for (const name of SHIP_SET) delete env[name];
  env.STARPHLEET_DEPLOY_TIME = s.deployTime.toISOString();
  env.STARPHLEET_DEPLOY_GITURL = redactCredentials(s.giturl);
  env.STARPHLEET_SHIP = s.shipName;
  return env;
}

