import { sandboxLimitSettings } from '../../settings/agent-settings.js';
/** Per-service cgroup limits from the orders' exports (`export STARPHLEET_MEMORY=512M` ...), with defaults. */
export interface SandboxLimits {
  readonly memoryBytes: number;
  /** CPU time per wall-clock second, in cores (1.5 = one and a half cores). */
  readonly cpus: number;
  readonly pids: number;
  /** STARPHLEET_DISK: the size of the service's volume (its /var/data, /tmp, build and cache dirs). */
  readonly diskBytes: number;
}

export const DEFAULT_LIMITS: SandboxLimits = { memoryBytes: 1024 ** 3, cpus: 1, pids: 512, diskBytes: 2 * 1024 ** 3 };

const UNITS: Readonly<Record<string, number>> = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3, T: 1024 ** 4 };

/** `512M`, `1G`, `1.5G`, `268435456` (bytes); K/M/G/T are powers of 1024, an optional `i`/`B` is accepted. */
export function parseMemory(raw: string, where = 'STARPHLEET_MEMORY'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(raw);
  const bytes = m ? Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toUpperCase()] ?? NaN)) : NaN;
  if (!(bytes >= 16 * 1024 ** 2)) throw new Error(`${where} must be a size of at least 16M such as 512M or 2G, got ${JSON.stringify(raw)}`);
  return bytes;
}

/** `2G`, `512M` (at least 64M: an ext4 volume smaller than that holds little but its own metadata). */
export function parseDisk(raw: string, where = 'STARPHLEET_DISK'): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)(?:i?B)?\s*$/i.exec(raw);
  const bytes = m ? Math.floor(Number(m[1]) * (UNITS[(m[2] ?? '').toUpperCase()] ?? NaN)) : NaN;
  if (!(bytes >= 64 * 1024 ** 2) || bytes > 16 * 1024 ** 4) throw new Error(`${where} must be a size between 64M and 16T such as 512M or 2G, got ${JSON.stringify(raw)}`);
  return Math.floor(bytes / 4096) * 4096;
}

export function parseCpus(raw: string, where = 'STARPHLEET_CPUS'): number {
  const n = Number(raw.trim());
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0.01 || n > 1024) throw new Error(`${where} must be a number of cores such as 0.5 or 2, got ${JSON.stringify(raw)}`);
  return n;
}

export function parsePids(raw: string, where = 'STARPHLEET_PIDS'): number {
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 8 || n > 4194304) throw new Error(`${where} must be a whole number of at least 8, got ${JSON.stringify(raw)}`);
  return n;
}

/** The limits a service's env asks for; a bad value throws naming the variable (the deploy fails, nothing changes). */
export function sandboxLimits(env: Readonly<Record<string, string>>): SandboxLimits {
  const given = sandboxLimitSettings(env);
  const pick = <T>(raw: string | undefined, name: string, parse: (raw: string, where: string) => T, dflt: T): T => (raw === undefined ? dflt : parse(raw, name));
  return {
    memoryBytes: pick(given.memory, 'STARPHLEET_MEMORY', parseMemory, DEFAULT_LIMITS.memoryBytes),
    cpus: pick(given.cpus, 'STARPHLEET_CPUS', parseCpus, DEFAULT_LIMITS.cpus),
    pids: pick(given.pids, 'STARPHLEET_PIDS', parsePids, DEFAULT_LIMITS.pids),
    diskBytes: pick(given.disk, 'STARPHLEET_DISK', parseDisk, DEFAULT_LIMITS.diskBytes),
  };
}

export function describeLimits(l: SandboxLimits): string {
  return `memory ${Math.round(l.memoryBytes / 1024 ** 2)}M, ${l.cpus} cpu, ${l.pids} pids, disk ${Math.round(l.diskBytes / 1024 ** 2)}M`;
}
