import type { SandboxHost } from '../sandbox/sandbox.js';
import type { Release } from '../types.js';

export type RuntimeKind = 'bwrap' | 'process';

/** The PATH every sandbox starts with (Heroku's): fixed, never the ship's own (which names the ship's tools and dirs). */
export const SANDBOX_PATH = '/usr/local/bin:/usr/bin:/bin';

/**
 * Where the app is inside every sandbox, as on Heroku and Dokku: an instance's release (its working directory and
 * HOME), and in a build step the build dir (predeploy runs there), so scripts that name /app work in both.
 */
export const APP_DIR = '/app';

/** What one instance needs to run: its id, the release, its port and where its data and log go. */
export interface InstanceSpec {
  /** The instance id: names its sandbox run dir and cgroup. */
  readonly id: string;
  readonly release: Release;
  readonly port: number;
  /** The ship's data dir: `<dataDir>/data` is the instance's /var/data. */
  readonly dataDir: string;
  readonly logFile: string;
  /** The Procfile type it runs (web, worker, ...); web when not given. */
  readonly process?: string;
  /** Its place, `web.1`, `worker.2`: DYNO in its env and its process title; `<process>.1` when not given. */
  readonly name?: string;
  /** The command, when not the release's web command (another process type, a one-off). */
  readonly command?: string;
  /** Only web instances are reached by the data plane: the others get no bridge. */
  readonly routed?: boolean;
  /** A one-off (release phase, `starphleet run`, cron): runs in the foreground of its sandbox with the caller's stdio. */
  readonly oneOff?: boolean;
  /** The release's HQ secrets, opened for this start only (agent/secrets/keeper.ts): over its env, under PORT. */
  readonly secrets?: Readonly<Record<string, string>>;
}

/** What to spawn (detached, in its own group) for an instance. */
export interface Launch {
  readonly file: string;
  readonly args: string[];
  /** argv[0] of what is spawned: a short process title (`starphleet: <service> web.1 <release>`). */
  readonly argv0?: string;
  readonly env: Record<string, string>;
  readonly cwd: string;
  /** Where the data plane reaches it on the direct path (the sandbox's address on the ship's bridge). */
  readonly address?: string | null;
}

/** How a runtime runs service code: instances (launch) and build steps (sandbox). */
export interface Runtime {
  readonly kind: RuntimeKind;
  /** Throws RuntimeError when service code may not run here (no sandbox, and the process runtime was not chosen). */
  launch(spec: InstanceSpec, script: string, env: Record<string, string>): Launch;
  /** The sandbox build steps run in: null for the process runtime; throws RuntimeError like launch. */
  sandbox(): SandboxHost | null;
}

export class RuntimeError extends Error {}
