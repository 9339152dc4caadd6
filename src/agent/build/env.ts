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

/** Repo .env < orders exports < HQ .starphleet, then the ship's own STARPHLEET_* (PORT comes per instance). */
export function resolveEnv(s: EnvSources): Record<string, string> {
  const env: Record<string, string> = { ...s.buildpackDefaults, ...s.repoEnv, ...s.ordersEnv, ...s.hqEnv };
  for (const name of SHIP_SET) delete env[name];
  env.STARPHLEET_DEPLOY_TIME = s.deployTime.toISOString();
  env.STARPHLEET_DEPLOY_GITURL = s.giturl;
  env.STARPHLEET_SHIP = s.shipName;
  return env;
}

