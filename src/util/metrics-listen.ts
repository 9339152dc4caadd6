import { ConfigError } from './config-error.js';

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9464';

export interface MetricsListen {
  readonly host: string;
  readonly port: number;
}

/**
 * --metrics-listen / STARPHLEET_METRICS_LISTEN: `host:port`, `[v6]:port` or `off`; null means off. Port 0 takes any
 * free port (tests; the log line says which).
 */
export function parseMetricsListen(raw: string | undefined, name = '--metrics-listen'): MetricsListen | null {
  const v = (raw ?? DEFAULT_METRICS_LISTEN).trim();
  if (v === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${name} must be host:port, [ipv6]:port or off, got ${JSON.stringify(v)}`);
  return { host: (m[1] ?? m[2]) as string, port };
}
