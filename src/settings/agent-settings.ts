import { COUNT, numberSetting, POSITIVE, POSITIVE_SECONDS, SECONDS } from './number-setting.js';

/**
 * The settings of the agent's rooms (sandbox, runtime, deploys, pushes, traffic pauses): each read here, typed, with its
 * default; the room that uses one keeps what it means (parsing a subnet, a port list, a uid range) and its errors.
 */
type Env = Readonly<Record<string, string | undefined>>;

/**
 * The sandbox user when STARPHLEET_SANDBOX_USER is unset: what `starphleet install` creates by default and the runtime
 * then uses. Here, beside the setting, so the CLI's --help names it without loading the sandbox.
 */
export const DEFAULT_SANDBOX_USER = 'starphleet';

/** STARPHLEET_SANDBOX_USER (ship env): the user a sandboxed ship runs instances as; unset or empty: the room's default. */
export function sandboxUserSetting(env: Env = process.env): string | undefined {
  return env.STARPHLEET_SANDBOX_USER || undefined;
}

/** STARPHLEET_UIDS (ship env): the uid range of the services' users, `FIRST-LAST`; unset or empty: derived from the data dir. */
export function uidsSetting(env: Env = process.env): string | undefined {
  return env.STARPHLEET_UIDS || undefined;
}

/** STARPHLEET_INSTANCE_NET (ship env): the instances' private /24, or `auto` (also when unset or blank) for a free one. */
export function instanceNetSetting(env: Env = process.env): string | undefined {
  return env.STARPHLEET_INSTANCE_NET;
}

/** STARPHLEET_HOST_PORTS (HQ `.starphleet` only): ports of the host instances may reach at ship.internal; none by default. */
export function hostPortsSetting(hqEnv: Env): string | undefined {
  return hqEnv.STARPHLEET_HOST_PORTS;
}

/** STARPHLEET_LOG_MAX_BYTES (ship env), default 10 MiB: past it an instance log is rotated to .1 (and .1 to .2). */
export function logMaxBytes(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_LOG_MAX_BYTES, 'STARPHLEET_LOG_MAX_BYTES', 10 * 1024 * 1024, COUNT);
}

/** STARPHLEET_RUNTIME (ship env): `process` or `bwrap` forces a runtime; unset or empty: the sandbox when it works here. */
export function runtimeSetting(env: Env, error: (message: string) => Error): 'process' | 'bwrap' | undefined {
  const forced = env.STARPHLEET_RUNTIME;
  if (forced === 'process' || forced === 'bwrap') return forced;
  if (forced !== undefined && forced !== '') throw error(`STARPHLEET_RUNTIME must be "process" or "bwrap", got ${JSON.stringify(forced)}`);
  return undefined;
}

/** STARPHLEET_PUSH_MAX_BYTES (ship env), default 512 MiB: the most a `git push` may send, checked as it arrives. */
export function pushMaxBytes(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_PUSH_MAX_BYTES, 'STARPHLEET_PUSH_MAX_BYTES', 512 * 1024 * 1024, COUNT);
}

/** STARPHLEET_PUSH_MAX_CHECKOUT_BYTES (ship env), default 2 GiB: the most a pushed tree may check out to. */
export function pushMaxCheckoutBytes(env: Env = process.env): number {
  return numberSetting(env.STARPHLEET_PUSH_MAX_CHECKOUT_BYTES, 'STARPHLEET_PUSH_MAX_CHECKOUT_BYTES', 2 * 1024 ** 3, COUNT);
}

/** STARPHLEET_WORKER_UP of a service's env (orders, HQ defaults): seconds a worker must stay up; undefined: the ship's. */
export function serviceWorkerUpSeconds(serviceEnv: Env): number | undefined {
  const v = serviceEnv.STARPHLEET_WORKER_UP;
  return v === undefined ? undefined : numberSetting(v, 'STARPHLEET_WORKER_UP', 10, SECONDS);
}

/** STARPHLEET_BASE of a service's orders: the HQ `containers/<name>` its instances are built on; none when unset. */
export function serviceBaseSetting(ordersEnv: Env): string | undefined {
  return ordersEnv.STARPHLEET_BASE;
}

/** STARPHLEET_HTTPS_ONLY (HQ `.starphleet`): every service answers plain HTTP with a redirect to HTTPS; off by default. */
export function hqHttpsOnlySetting(hqEnv: Env | undefined): string | undefined {
  return hqEnv?.STARPHLEET_HTTPS_ONLY;
}

/** STARPHLEET_PREVIEW: set by the ship on preview releases only, so true here means an orders file exported it. */
export function ordersSetPreview(ordersEnv: Env): boolean {
  return ordersEnv.STARPHLEET_PREVIEW !== undefined;
}

/**
 * STARPHLEET_PAUSE_QUEUE (5000 requests), STARPHLEET_PAUSE_DRAIN (10 s), STARPHLEET_MAX_PAUSE (30 s) and
 * STARPHLEET_RELEASE_PAUSE (60 s), all from the ship env: the bounds of a paused service's held requests.
 */
export function trafficLimitSettings(env: Env = process.env): { queue: number; drainMs: number; maxPauseS: number; releasePauseS: number } {
  return {
    queue: numberSetting(env.STARPHLEET_PAUSE_QUEUE, 'STARPHLEET_PAUSE_QUEUE', 5000, COUNT),
    drainMs: numberSetting(env.STARPHLEET_PAUSE_DRAIN, 'STARPHLEET_PAUSE_DRAIN', 10, POSITIVE_SECONDS) * 1000,
    maxPauseS: numberSetting(env.STARPHLEET_MAX_PAUSE, 'STARPHLEET_MAX_PAUSE', 30, POSITIVE_SECONDS),
    releasePauseS: numberSetting(env.STARPHLEET_RELEASE_PAUSE, 'STARPHLEET_RELEASE_PAUSE', 60, POSITIVE_SECONDS),
  };
}

const secondsMs = (env: Env, name: string, dflt: number): number => numberSetting(env[name], name, dflt, SECONDS) * 1000;
const count = (env: Env, name: string, dflt: number): number => numberSetting(env[name], name, dflt, COUNT);

/**
 * The agent's limits, from the ship env: STARPHLEET_BUILD_TIMEOUT (900 s), STARPHLEET_BUILD_QUIET (60 s),
 * STARPHLEET_DRAIN_TIMEOUT (30 s), STARPHLEET_STOP_GRACE (10 s), STARPHLEET_MAX_DEPLOYS (2), STARPHLEET_KEEP_RELEASES
 * (5), STARPHLEET_RETRY_BASE (5 s), STARPHLEET_RETRY_MAX (600 s), STARPHLEET_CRASH_BASE (1 s), STARPHLEET_MAX_CRASHES
 * (5) and STARPHLEET_WORKER_UP (10 s; a service's own wins).
 */
export function agentLimitSettings(env: Env = process.env) {
  return {
    buildTimeoutMs: secondsMs(env, 'STARPHLEET_BUILD_TIMEOUT', 900),
    buildQuietMs: secondsMs(env, 'STARPHLEET_BUILD_QUIET', 60),
    drainTimeoutMs: secondsMs(env, 'STARPHLEET_DRAIN_TIMEOUT', 30),
    stopGraceMs: secondsMs(env, 'STARPHLEET_STOP_GRACE', 10),
    maxConcurrentDeploys: count(env, 'STARPHLEET_MAX_DEPLOYS', 2),
    keepReleases: count(env, 'STARPHLEET_KEEP_RELEASES', 5),
    retryBaseMs: secondsMs(env, 'STARPHLEET_RETRY_BASE', 5),
    retryMaxMs: secondsMs(env, 'STARPHLEET_RETRY_MAX', 600),
    crashBaseMs: secondsMs(env, 'STARPHLEET_CRASH_BASE', 1),
    maxCrashes: count(env, 'STARPHLEET_MAX_CRASHES', 5),
    workerUpMs: secondsMs(env, 'STARPHLEET_WORKER_UP', 10),
  };
}

/** Default pace of a repo a webhook was seen for (seconds): pushes are told, polling only catches a lost delivery. */
export const WEBHOOK_POLL_SECONDS = 120;
/** Default bound on service repo polls per second, over all repos. */
export const POLL_RATE = 1;

/**
 * The service repo poll settings from HQ `.starphleet`, else the ship's env: STARPHLEET_SERVICE_POLL (seconds,
 * default the pulse), STARPHLEET_SERVICE_POLL_WEBHOOK (default 120), STARPHLEET_SERVICE_POLL_RATE (polls a second
 * over all repos, default 1). A bad value is a problem (returned) and its default is used.
 */
export function pollSettings(pulseSeconds: number, hqEnv: Env, env: Env = process.env): { settings: { pollMs: number; webhookPollMs: number; rate: number }; problems: string[] } {
  const problems: string[] = [];
  const read = (name: string, dflt: number, rule = POSITIVE_SECONDS): number => {
    try {
      return numberSetting(hqEnv[name] ?? env[name], name, dflt, rule);
    } catch (e) {
      problems.push(`${(e as Error).message}: ${dflt} used`);
      return dflt;
    }
  };
  const poll = read('STARPHLEET_SERVICE_POLL', pulseSeconds);
  const webhook = read('STARPHLEET_SERVICE_POLL_WEBHOOK', Math.max(WEBHOOK_POLL_SECONDS, poll));
  const rate = read('STARPHLEET_SERVICE_POLL_RATE', POLL_RATE, POSITIVE);
  return { settings: { pollMs: poll * 1000, webhookPollMs: webhook * 1000, rate }, problems };
}

/**
 * A service's sandbox limits as its env (orders, HQ defaults) gives them, blank as unset: STARPHLEET_MEMORY,
 * STARPHLEET_CPUS, STARPHLEET_PIDS and STARPHLEET_DISK (HQ `.starphleet` may give it to every service); the sandbox
 * room parses them and holds the defaults.
 */
export function sandboxLimitSettings(serviceEnv: Env): { memory?: string; cpus?: string; pids?: string; disk?: string } {
  const given = (raw: string | undefined): string | undefined => (raw === undefined || raw.trim() === '' ? undefined : raw);
  return { memory: given(serviceEnv.STARPHLEET_MEMORY), cpus: given(serviceEnv.STARPHLEET_CPUS), pids: given(serviceEnv.STARPHLEET_PIDS), disk: given(serviceEnv.STARPHLEET_DISK) };
}
