import { hostname } from 'node:os';
import { resolve } from 'node:path';

/** Everything `starphleet ship` is told, after flags and env fallbacks are merged. */
export interface ShipOptions {
  readonly headquarters: string;
  readonly dataDir: string;
  readonly listen: string;
  readonly sshPort: number;
  readonly httpPort: number;
  readonly pulseSeconds: number;
  readonly privateKey?: string;
  readonly name: string;
  /** Time limit for each HQ bash file (orders, remote, .starphleet). */
  readonly evalTimeoutMs: number;
}

export interface ShipFlags {
  readonly headquarters?: string;
  readonly data?: string;
  readonly listen?: string;
  readonly sshPort?: string;
  readonly httpPort?: string;
  readonly pulse?: string;
  readonly privateKey?: string;
  readonly name?: string;
}

export class ConfigError extends Error {}

function port(value: string, what: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n > 65535) throw new ConfigError(`${what} must be a port number (0-65535), got ${JSON.stringify(value)}`);
  return n;
}

function positive(value: string, what: string): number {
  const n = Number(value);
  if (!(n > 0) || !Number.isFinite(n)) throw new ConfigError(`${what} must be a positive number of seconds, got ${JSON.stringify(value)}`);
  return n;
}

export function shipOptions(flags: ShipFlags, env: NodeJS.ProcessEnv = process.env): ShipOptions {
  const headquarters = flags.headquarters ?? env.STARPHLEET_HEADQUARTERS;
  if (!headquarters) throw new ConfigError('no headquarters: pass --headquarters <git url|path> or set STARPHLEET_HEADQUARTERS');
  const privateKey = flags.privateKey ?? env.STARPHLEET_PRIVATE_KEY;
  return {
    headquarters,
    dataDir: resolve(flags.data ?? env.STARPHLEET_DATA ?? '/var/starphleet'),
    listen: flags.listen ?? '0.0.0.0',
    sshPort: port(flags.sshPort ?? '2222', '--ssh-port'),
    httpPort: port(flags.httpPort ?? '8080', '--http-port'),
    pulseSeconds: positive(flags.pulse ?? env.STARPHLEET_PULSE ?? '5', '--pulse'),
    ...(privateKey ? { privateKey: resolve(privateKey) } : {}),
    name: flags.name ?? env.STARPHLEET_NAME ?? hostname(),
    evalTimeoutMs: evalTimeoutMs(env),
  };
}

/** Time limit for one HQ bash file: STARPHLEET_EVAL_TIMEOUT seconds, default 10. */
export function evalTimeoutMs(env: NodeJS.ProcessEnv = process.env): number {
  return positive(env.STARPHLEET_EVAL_TIMEOUT ?? '10', 'STARPHLEET_EVAL_TIMEOUT') * 1000;
}
