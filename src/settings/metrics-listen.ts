import { ConfigError } from './config-error.js';

export const DEFAULT_METRICS_LISTEN = '127.0.0.1:9464';
/** The dashboard's own listener: loopback unless the admiral opens it (docs/dashboard.md). */
export const DEFAULT_DASHBOARD_LISTEN = '127.0.0.1:9465';

/** A TCP address the ship listens on besides its front door and SSH (metrics, the dashboard). */
export interface MetricsListen {
  readonly host: string;
  readonly port: number;
}

export type ListenAddress = MetricsListen;

/**
 * `host:port`, `[v6]:port` or `off` (null) for a listener of the ship, with `dflt` when not given. Port 0 takes any free
 * port (tests; the log line says which).
 */
export function parseListen(raw: string | undefined, dflt: string, name: string): ListenAddress | null {
  const v = (raw ?? dflt).trim();
  if (v === 'off') return null;
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})$/.exec(v);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) throw new ConfigError(`${name} must be host:port, [ipv6]:port or off, got ${JSON.stringify(v)}`);
  return { host: (m[1] ?? m[2]) as string, port };
}

/** --metrics-listen / STARPHLEET_METRICS_LISTEN. */
export function parseMetricsListen(raw: string | undefined, name = '--metrics-listen'): MetricsListen | null {
  return parseListen(raw, DEFAULT_METRICS_LISTEN, name);
}
