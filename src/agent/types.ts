/**
 * The contract between the build side of the agent (source, buildpacks, layers, releases) and the run side
 * (runtime, health, switch, reconcile). Paths are under the ship's data dir; the SFTP view shows them as they are.
 *
 * Data dir layout (relative to --data):
 *   layers/<sha256>.tar.gz                      content-addressed layer archives, stored once
 *   services/<name>/releases/<id>/              merged, immutable release tree (read-only once built)
 *   services/<name>/releases/<id>.json          that release's config (ReleaseConfig)
 *   services/<name>/current                     symlink -> releases/<id> of the release that serves now
 *   configs/<name>.json                         copy of the serving release's config
 *   cache/<name>/                               buildpack cache dir, kept between builds (the process runtime's;
 *                                               a sandboxed build's is its volume's cache/)
 *   repos/<sha256 of url>/                      cached bare clone per service repo
 *   logs/<name>/build-<id>.log                  build output
 *   logs/<name>/instance-<id>-<type>.<n>.log    an instance's stdout/stderr (web.1, worker.1; -cron: cron runs; rotated: .1, .2)
 *   data/                                       the ship's data orders (root's; linked into each /var/data)
 *   volumes/<name>.img, volumes/<name>/         a service's volume (STARPHLEET_DISK) and its mount: data/ (its
 *                                               /var/data), cache/, tmp/, build/ (sandbox/volumes.ts); a preview's
 *                                               is its own, removed with it (volumes/.previews/ marks them)
 *   sandbox/uids.json                           the uid of each service (sandbox/service-users.ts)
 */

import type { AppManifest } from './releases/app-json.js';

/** A built release's three, or a registry component's name (`registry/<component>`, #22). */
export type LayerComponent = 'source' | 'build' | 'config' | `registry/${string}`;

export interface LayerRef {
  readonly component: LayerComponent;
  /** source: the git sha; build: the buildpack name and version; config: a hash of the resolved config. */
  readonly version: string;
  readonly sha256: string;
  readonly size: number;
}

/** What services/<name>/releases/<id>.json and configs/<name>.json hold. */
export interface ReleaseConfig {
  readonly service: string;
  readonly id: string;
  readonly giturl: string;
  readonly sha: string;
  readonly createdAt: string;
  /** In the order they are unpacked into the release tree. */
  readonly layers: readonly LayerRef[];
  /** Env the instance gets (repo .env < orders < HQ .starphleet, plus STARPHLEET_*), without PORT (given per instance). */
  readonly env: Readonly<Record<string, string>>;
  /** The web process, run by bash in the release dir: Procfile `web:` or the buildpack's default; '' when it has none. */
  readonly command: string;
  /** Every process type (web included) and its command; releases built before process types had only `command`. */
  readonly processes?: Readonly<Record<string, string>>;
  /** The Procfile's `release:` line: run once per release before any of its instances starts. */
  readonly releaseCommand?: string;
  /** What the app's app.json says (health checks, formation, post-deploy script, cron). */
  readonly manifest?: AppManifest;
  /** URL path the healthcheck GETs (repo `healthcheck` file or HEALTHCHECK; default `/`). */
  readonly healthcheck: string;
  readonly healthcheckTimeoutSeconds: number;
  /** Buildpack that built it (name or BUILDPACK_URL). */
  readonly buildpack: string;
  /**
   * A registry tree with a `deploy` script and no Procfile (deploy-agent's kind, #22): the script (releaseCommand) is
   * the whole deploy; no process runs, so it serves no HTTP even when published.
   */
  readonly deployOnly?: boolean;
  /** The container base (STARPHLEET_BASE, HQ containers/<name> at this content hash) mounted into its sandboxes. */
  readonly base?: { readonly name: string; readonly hash: string };
  /** Its HQ secrets, sealed (only in releases/<id>.json; configs/ and the config layer show the names). */
  readonly secrets?: ReleaseSecrets;
  /** The deploy inputs it was built from (deploy.ts inputsDigest): what serves after a rollback to it. */
  readonly inputs?: string;
  /** Those inputs and the buildpacks (deploy/reuse.ts): a deploy of the same key reuses this release, not a new build. */
  readonly buildKey?: string;
}

/**
 * A release's secrets (HQ secrets.age files): their names and sealed form, never their values, which are opened from
 * `sealed` with the ship's host key at each start and go to the instance's env only.
 */
export interface ReleaseSecrets {
  /** HMAC-SHA256 of the values, keyed by this ship's host key: a changed value is a new deploy, and this tells nothing of it. */
  readonly digest: string;
  /** The names the instances get from them, after precedence (a name HQ .starphleet sets is not among them). */
  readonly names: readonly string[];
  /** The sealed files as they were at the deploy (base64 of the age file, phleet-wide first), in force for this release. */
  readonly sealed: readonly { readonly file: string; readonly age: string }[];
}

/** A built release: its config plus where its tree is. */
export interface Release {
  readonly config: ReleaseConfig;
  /** Absolute path of the merged release tree. */
  readonly dir: string;
}

/** What a build needs to know; the agent derives it from the desired state. */
export interface BuildInput {
  readonly service: string;
  readonly giturl: string;
  readonly sha: string;
  /** Exports of the orders file. */
  readonly ordersEnv: Readonly<Record<string, string>>;
  /** Exports of HQ `.starphleet` (highest precedence). */
  readonly hqEnv: Readonly<Record<string, string>>;
  readonly shipName: string;
  /** The container base its build steps (and later its instances) get, built before by bases/provision.ts. */
  readonly base?: { readonly name: string; readonly hash: string };
  /** HQ secrets for its instances: recorded in the release, never given to the build. */
  readonly secrets?: ReleaseSecrets;
  /** Recorded in the release (ReleaseConfig.inputs, .buildKey) so a later deploy of the same inputs finds it. */
  readonly inputs?: string;
  readonly buildKey?: string;
}

/** Build output, one line at a time, as it happens (git push streams it to the admiral). */
export type LineSink = (line: string) => void;
