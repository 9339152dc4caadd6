import { logSinkSetting } from '../settings/phleet-settings.js';
/** STARPHLEET_LOG_SINK: `syslog+tcp://host:port` or `syslog+udp://host:port`; unset, empty or `off`: no sink. */
export interface SinkTarget {
  readonly transport: 'tcp' | 'udp';
  readonly host: string;
  readonly port: number;
  /** As logs show it. */
  readonly label: string;
}

/** where: how the setting is named in errors. Returns null for no sink; throws an Error naming the setting when bad. */
export function parseSinkTarget(raw: string | undefined, where: string): SinkTarget | null {
  const v = (raw ?? '').trim();
  if (v === '' || v === 'off') return null;
  const m = /^syslog\+(tcp|udp):\/\/(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):([0-9]{1,5})\/?$/.exec(v);
  const port = m ? Number(m[4]) : NaN;
  if (!m || port < 1 || port > 65535) throw new Error(`${where} must be syslog+tcp://host:port or syslog+udp://host:port, got ${JSON.stringify(v.length > 80 ? `${v.slice(0, 80)}...` : v)}`);
  const transport = m[1] as 'tcp' | 'udp';
  const host = (m[2] ?? m[3]) as string;
  return { transport, host, port, label: `syslog+${transport}://${m[2] ? `[${host}]` : host}:${port}` };
}

/** The sink HQ's .starphleet asks for (it wins), else the ship's env; a bad value is logged and means no sink. */
export function sinkTargetOf(hqEnv: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv, log: (m: string) => void): SinkTarget | null {
  const { raw, where } = logSinkSetting(hqEnv, env);
  try {
    return parseSinkTarget(raw, where);
  } catch (e) {
    log(`log sink: ${(e as Error).message}; no log sink until it is fixed`);
    return null;
  }
}
