import { resolve } from 'node:path';

/** Which data plane the ship runs (dataplane/ship-side/plane-process.ts resolves `auto`). */
export type PlaneChoice = 'embedded' | 'nginx' | 'auto';

/** `--data-plane` / STARPHLEET_DATA_PLANE: embedded, nginx, or auto (nginx where it is installed). */
function planeChoice(raw: string | undefined): PlaneChoice {
  const v = raw ?? 'embedded';
  if (v === 'embedded' || v === 'nginx' || v === 'auto') return v;
  throw new ConfigError(`--data-plane (STARPHLEET_DATA_PLANE) must be embedded, nginx or auto, got ${JSON.stringify(v)}`);
}
import { numberSetting, POSITIVE_SECONDS, type NumberRule } from './number-setting.js';
import { DEFAULT_DASHBOARD_LISTEN, parseListen, parseMetricsListen, type ListenAddress, type MetricsListen } from './metrics-listen.js';
import { placeWordProblem } from './place-word.js';

/** Everything `starphleet ship` is told, after flags and env fallbacks are merged. */
export interface ShipOptions {
  readonly headquarters: string;
  readonly dataDir: string;
  readonly listen: string;
  readonly sshPort: number;
  readonly httpPort: number;
  /** `--https-port`: the same routes over TLS; undefined: no TLS. */
  readonly httpsPort?: number;
  readonly pulseSeconds: number;
  readonly privateKey?: string;
  readonly name: string;
  /** Time limit for each HQ bash file (orders, remote, .starphleet). */
  readonly evalTimeoutMs: number;
  /** Which data plane serves HTTP: embedded (Node), nginx, or auto (nginx where installed). */
  readonly dataPlane: PlaneChoice;
  /** Where GET /metrics is served (src/metrics); null or absent: no metrics listener. */
  readonly metricsListen?: MetricsListen | null;
  /** The dashboard's own listener (src/dashboard/server.ts); null or absent: no dashboard. */
  readonly dashboardListen?: ListenAddress | null;
  /** `--tag` (repeatable) or STARPHLEET_TAGS: what orders' `on` places services by (with HQ `tags`). */
  readonly tags?: readonly string[];
}

export interface ShipFlags {
  readonly headquarters?: string;
  readonly data?: string;
  readonly listen?: string;
  readonly sshPort?: string;
  readonly httpPort?: string;
  readonly httpsPort?: string;
  readonly pulse?: string;
  readonly privateKey?: string;
  readonly name?: string;
  readonly dataPlane?: string;
  readonly metricsListen?: string;
  readonly dashboardListen?: string;
  readonly tag?: readonly string[];
}

import { ConfigError } from './config-error.js';

export { ConfigError };

const configError = (m: string): ConfigError => new ConfigError(m);
const PORT: NumberRule = { min: 0, max: 65535, integer: true, plain: true, what: 'a port number (0-65535)', error: configError };
const SECONDS_FLAG: NumberRule = { ...POSITIVE_SECONDS, error: configError };

export function shipOptions(flags: ShipFlags, env: NodeJS.ProcessEnv = process.env): ShipOptions {
  const headquarters = flags.headquarters ?? env.STARPHLEET_HEADQUARTERS;
  if (!headquarters) throw new ConfigError('no headquarters: pass --headquarters <git url|path> or set STARPHLEET_HEADQUARTERS');
  const privateKey = flags.privateKey ?? env.STARPHLEET_PRIVATE_KEY;
  return {
    headquarters,
    dataDir: resolve(flags.data ?? env.STARPHLEET_DATA ?? '/var/starphleet'),
    listen: flags.listen ?? '0.0.0.0',
    sshPort: numberSetting(flags.sshPort, '--ssh-port', 2222, PORT),
    httpPort: numberSetting(flags.httpPort, '--http-port', 8080, PORT),
    ...(flags.httpsPort !== undefined ? { httpsPort: numberSetting(flags.httpsPort, '--https-port', 443, PORT) } : {}),
    pulseSeconds: numberSetting(flags.pulse ?? env.STARPHLEET_PULSE, '--pulse', 5, SECONDS_FLAG),
    ...(privateKey ? { privateKey: resolve(privateKey) } : {}),
    // '' = not given: ship.ts derives it from the host key fingerprint (stable across restarts).
    name: flags.name ?? env.STARPHLEET_NAME ?? '',
    evalTimeoutMs: evalTimeoutMs(env),
    dataPlane: planeChoice(flags.dataPlane ?? env.STARPHLEET_DATA_PLANE),
    tags: shipTags(flags.tag, env.STARPHLEET_TAGS),
    metricsListen: parseMetricsListen(flags.metricsListen ?? env.STARPHLEET_METRICS_LISTEN, flags.metricsListen !== undefined ? '--metrics-listen' : 'STARPHLEET_METRICS_LISTEN'),
    dashboardListen: parseListen(flags.dashboardListen ?? env.STARPHLEET_DASHBOARD_LISTEN, DEFAULT_DASHBOARD_LISTEN, flags.dashboardListen !== undefined ? '--dashboard-listen' : 'STARPHLEET_DASHBOARD_LISTEN'),
  };
}

/** `--tag` flags, else STARPHLEET_TAGS (words split at spaces or commas); each a word `on` can name. */
function shipTags(flags: readonly string[] | undefined, env: string | undefined): string[] {
  const given = flags && flags.length > 0 ? { from: '--tag', words: [...flags] } : { from: 'STARPHLEET_TAGS', words: (env ?? '').split(/[\s,]+/).filter(Boolean) };
  for (const w of given.words) {
    const bad = placeWordProblem(w);
    if (bad) throw new ConfigError(`${given.from}: ${bad}`);
  }
  return [...new Set(given.words)].sort();
}

/** Time limit for one HQ bash file: STARPHLEET_EVAL_TIMEOUT seconds, default 10. */
export function evalTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return numberSetting(env.STARPHLEET_EVAL_TIMEOUT, 'STARPHLEET_EVAL_TIMEOUT', 10, SECONDS_FLAG) * 1000;
}
