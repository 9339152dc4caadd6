import { createHash } from 'node:crypto';
import { resolve } from 'node:path';

/**
 * Names of what a ship makes on the host (bridge, nftables table, veths, cgroup folder), derived from its data dir:
 * two ships on one host (tests run many at once) never share one. A link name holds at most 15 bytes.
 */
export function dataDirTag(dataDir: string): string {
  return createHash('sha256').update(resolve(dataDir)).digest('hex').slice(0, 10);
}

export interface NetNames {
  /** The bridge every instance's veth joins; its address is the instances' gateway and `ship.internal`. */
  readonly bridge: string;
  /** The ship's own nftables table (family inet): its NAT and filter rules, never the host's. */
  readonly table: string;
}

export function netNames(dataDir: string): NetNames {
  const tag = dataDirTag(dataDir);
  return { bridge: `spb${tag}`, table: `starphleet_${tag}` };
}

/** The host end of one sandbox run's veth pair (the other end is `eth0` in its namespace and goes with it). */
export function vethName(dataDir: string, runId: string): string {
  return `spv${createHash('sha256').update(`${resolve(dataDir)}\0${runId}`).digest('hex').slice(0, 11)}`;
}

/** `a.b.c.d` -> 32-bit number, or null. */
export function ipToNumber(ip: string): number | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return null;
  return (((parts[0] as number) << 24) >>> 0) + ((parts[1] as number) << 16) + ((parts[2] as number) << 8) + (parts[3] as number);
}

export function numberToIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Subnet {
  /** The network address, `10.213.5.0`. */
  readonly network: string;
  readonly prefix: number;
}

export function subnetText(s: Subnet): string {
  return `${s.network}/${s.prefix}`;
}

/** The first and last host number of a subnet (network and broadcast left out). */
export function hostRange(s: Subnet): { first: number; last: number } {
  const base = ipToNumber(s.network) as number;
  return { first: base + 1, last: base + 2 ** (32 - s.prefix) - 2 };
}

/** Whether two subnets share an address. */
export function overlaps(a: Subnet, b: Subnet): boolean {
  const p = Math.min(a.prefix, b.prefix);
  const mask = p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0;
  return (((ipToNumber(a.network) as number) & mask) >>> 0) === (((ipToNumber(b.network) as number) & mask) >>> 0);
}

const PRIVATE: readonly Subnet[] = [
  { network: '10.0.0.0', prefix: 8 },
  { network: '172.16.0.0', prefix: 12 },
  { network: '192.168.0.0', prefix: 16 },
  { network: '100.64.0.0', prefix: 10 },
];

/**
 * STARPHLEET_INSTANCE_NET: a private IPv4 subnet in CIDR form (`10.213.7.0/24`), /16 to /28, for when the default
 * (a free /24 of 10.213.0.0/16) clashes with a network the host must reach. Throws naming the setting.
 */
export function parseInstanceNet(raw: string): Subnet {
  const m = /^\s*([\d.]+)\/(\d{1,2})\s*$/.exec(raw);
  const n = m ? ipToNumber(m[1] as string) : null;
  const prefix = m ? Number(m[2]) : NaN;
  if (!m || n === null || !(prefix >= 16 && prefix <= 28)) throw new Error(`STARPHLEET_INSTANCE_NET must be a private IPv4 subnet such as 10.213.7.0/24 (a /16 to a /28), got ${JSON.stringify(raw)}`);
  const mask = (0xffffffff << (32 - prefix)) >>> 0;
  const s = { network: numberToIp((n & mask) >>> 0), prefix };
  if (((n & mask) >>> 0) !== n) throw new Error(`STARPHLEET_INSTANCE_NET ${raw.trim()}: the address has host bits set (the subnet is ${subnetText(s)})`);
  if (!PRIVATE.some((p) => p.prefix <= s.prefix && overlaps(p, s))) throw new Error(`STARPHLEET_INSTANCE_NET ${raw.trim()} is not a private range (10/8, 172.16/12, 192.168/16 or 100.64/10)`);
  return s;
}
