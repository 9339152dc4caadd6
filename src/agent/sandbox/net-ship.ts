import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { hostCmd, tryHostCmd } from './host-cmd.js';
import { forgetHostResources, recordHostResources } from './host-registry.js';
import { dataDirTag, hostRange, ipToNumber, netNames, numberToIp, overlaps, parseInstanceNet, subnetText, type Subnet } from './net-names.js';
import { renderTable } from './net-rules.js';
import { writeFileAtomicSync } from '../../util/atomic-write.js';
import { instanceNetSetting } from '../../settings/agent-settings.js';

/** The direct network path of one ship: its bridge, table, subnet; recorded in <data>/net/net.json. */
export interface ShipNet {
  readonly bridge: string;
  readonly table: string;
  readonly subnet: Subnet;
  /** The bridge's address: the instances' default route and `ship.internal`. */
  readonly gateway: string;
  readonly hostPorts: readonly number[];
  readonly dnsLoopback: string | null;
  /** The front door's HTTP and HTTPS ports (ShipNetOptions): reachable from instances like from anywhere. */
  readonly frontPorts?: readonly number[];
}

/** The default pool: one /24 of it per ship, the first free one from a place that depends on the data dir. */
const POOL_BASE = ipToNumber('10.213.0.0') as number;

export function netDir(dataDir: string): string {
  return join(dataDir, 'net');
}

function recordFile(dataDir: string): string {
  return join(netDir(dataDir), 'net.json');
}

function readRecord(dataDir: string): ShipNet | null {
  try {
    const r = JSON.parse(readFileSync(recordFile(dataDir), 'utf8')) as ShipNet;
    return typeof r.bridge === 'string' && typeof r.gateway === 'string' && r.subnet && Array.isArray(r.hostPorts) ? r : null;
  } catch {
    return null;
  }
}

function writeRecord(dataDir: string, net: ShipNet): void {
  mkdirSync(netDir(dataDir), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(recordFile(dataDir), `${JSON.stringify(net, null, 2)}\n`, 0o600);
}

/** Every IPv4 route and address of the host, as subnets: what a new bridge must not overlap. */
function hostSubnets(except: string): Subnet[] {
  const out: Subnet[] = [];
  for (const line of hostCmd('ip', ['-4', '-o', 'route', 'show', 'table', 'all']).split('\n')) {
    if (new RegExp(`\\bdev ${except}\\b`).test(line)) continue;
    const m = /^(?:(?:unicast|local|broadcast)\s+)?(\d+\.\d+\.\d+\.\d+)(?:\/(\d+))?\s/.exec(line);
    if (m) out.push({ network: m[1] as string, prefix: m[2] === undefined ? 32 : Number(m[2]) });
  }
  return out.filter((s) => s.prefix > 0);
}

/** The host's resolvers: those an instance reaches by routing, or the loopback one DNAT must lead to. */
export function hostResolvers(): { servers: string[]; loopback: string | null; rest: string[] } {
  let text = '';
  try {
    text = readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    // No resolver configured: instances get the gateway, which answers nothing.
  }
  const servers: string[] = [];
  const rest: string[] = [];
  let loopback: string | null = null;
  for (const line of text.split('\n')) {
    const m = /^\s*nameserver\s+(\S+)/.exec(line);
    if (m) {
      const ip = m[1] as string;
      if (ip.startsWith('127.')) loopback ??= ip;
      else if (ipToNumber(ip) !== null) servers.push(ip);
    } else if (/^\s*(search|domain|options)\s/.test(line)) rest.push(line.trim());
  }
  return { servers, loopback: servers.length === 0 ? loopback : null, rest };
}

function bridgeExists(bridge: string): boolean {
  return existsSync(`/sys/class/net/${bridge}`);
}

/** Makes the bridge with its gateway address (IPv6 off, loopback DNAT allowed on it) unless it is there already. */
function ensureBridge(net: ShipNet): void {
  const cidr = `${net.gateway}/${net.subnet.prefix}`;
  if (!bridgeExists(net.bridge)) {
    if (!tryHostCmd('ip', ['link', 'add', net.bridge, 'type', 'bridge']) && !bridgeExists(net.bridge)) hostCmd('ip', ['link', 'add', net.bridge, 'type', 'bridge']);
  }
  const addrs = hostCmd('ip', ['-4', '-o', 'addr', 'show', 'dev', net.bridge]);
  if (!addrs.includes(` ${cidr} `)) tryHostCmd('ip', ['addr', 'add', cidr, 'dev', net.bridge]);
  writeSysctl(`net/ipv6/conf/${net.bridge}/disable_ipv6`, '1');
  writeSysctl(`net/ipv4/conf/${net.bridge}/route_localnet`, '1');
  hostCmd('ip', ['link', 'set', net.bridge, 'up']);
}

function writeSysctl(key: string, value: string): boolean {
  try {
    writeFileSync(`/proc/sys/${key}`, value);
    return true;
  } catch {
    return false;
  }
}

/** Whether some other interface routes into the subnet (another ship, a VPN, the LAN). */
function clashes(subnet: Subnet, bridge: string): boolean {
  return hostSubnets(bridge).some((s) => s.prefix <= 30 && overlaps(s, subnet));
}

function chooseSubnet(dataDir: string, bridge: string, env: NodeJS.ProcessEnv): Subnet {
  const raw = instanceNetSetting(env);
  if (raw !== undefined && raw.trim() !== '' && raw.trim() !== 'auto') {
    const s = parseInstanceNet(raw);
    if (clashes(s, bridge)) throw new Error(`STARPHLEET_INSTANCE_NET ${subnetText(s)} overlaps a network this host already routes (ip -4 route): choose another private subnet`);
    return s;
  }
  const start = Number.parseInt(dataDirTag(dataDir).slice(0, 4), 16) % 256;
  for (let i = 0; i < 256; i++) {
    const s = { network: numberToIp(POOL_BASE + ((start + i) % 256) * 256), prefix: 24 };
    if (!clashes(s, bridge)) return s;
  }
  throw new Error('every /24 of 10.213.0.0/16 is in use on this host: set STARPHLEET_INSTANCE_NET to a free private subnet');
}

const ready = new Map<string, ShipNet>();

export interface NetLog {
  (line: string): void;
}

/**
 * The ship's direct path, made or checked: the bridge (subnet recorded on first use, the same after every restart),
 * net.ipv4.ip_forward on (said in the log when this turned it on), and the ship's nftables table. Idempotent: a ship
 * restarted after kill -9 finds its bridge with its instances' veths on it and keeps both.
 */
export function ensureShipNet(dataDir: string, env: NodeJS.ProcessEnv = process.env, log: NetLog = () => {}, frontPorts?: readonly number[]): ShipNet {
  const key = resolve(dataDir);
  const known = ready.get(key);
  if (known && bridgeExists(known.bridge) && (frontPorts === undefined || (known.frontPorts ?? []).join(',') === frontPorts.join(','))) return known;
  const { bridge, table } = netNames(dataDir);
  let net = readRecord(dataDir);
  if (net && (net.bridge !== bridge || net.table !== table)) net = null;
  const wanted = instanceNetSetting(env)?.trim();
  if (net && wanted && wanted !== 'auto' && subnetText(parseInstanceNet(wanted)) !== subnetText(net.subnet)) {
    if (bridgeExists(bridge) && hostCmd('ip', ['-o', 'link', 'show', 'master', bridge]).trim() !== '') {
      throw new Error(`STARPHLEET_INSTANCE_NET is ${wanted} but instances still run on ${subnetText(net.subnet)}: stop them first (starphleet stop --all)`);
    }
    tryHostCmd('ip', ['link', 'del', bridge]);
    net = null;
  }
  const fresh = !net;
  if (!net) {
    const subnet = chooseSubnet(dataDir, bridge, env);
    const dns = hostResolvers();
    net = { bridge, table, subnet, gateway: numberToIp(hostRange(subnet).first), hostPorts: [], dnsLoopback: dns.loopback };
  }
  if (frontPorts !== undefined) net = { ...net, frontPorts: [...frontPorts] };
  recordHostResources(dataDir, { bridge, table });
  ensureBridge(net);
  // Two ships starting at once may both have found the same /24 free: the one that sees the other's route gives way.
  if (fresh && (instanceNetSetting(env) ?? 'auto').trim() === 'auto' && clashes(net.subnet, bridge)) {
    tryHostCmd('ip', ['link', 'del', bridge]);
    return ensureShipNet(dataDir, env, log, frontPorts);
  }
  if (readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim() !== '1') {
    if (!writeSysctl('net/ipv4/ip_forward', '1')) throw new Error('cannot set net.ipv4.ip_forward=1 (needed for the instances\' outbound traffic)');
    log('network: set net.ipv4.ip_forward=1 (it was 0): the instances\' outbound traffic is forwarded and masqueraded by the ship\'s nftables table');
  }
  hostCmd('nft', ['-f', '-'], renderTable(net));
  writeRecord(dataDir, net);
  ready.set(key, net);
  return net;
}

/** STARPHLEET_HOST_PORTS changed: the table is replaced (atomically) with the new set of ship ports. */
export function setHostPorts(dataDir: string, ports: readonly number[], env: NodeJS.ProcessEnv = process.env, log?: NetLog): ShipNet {
  const net = ensureShipNet(dataDir, env, log);
  if (net.hostPorts.join(',') === ports.join(',')) return net;
  const next = { ...net, hostPorts: [...ports] };
  hostCmd('nft', ['-f', '-'], renderTable(next));
  writeRecord(dataDir, next);
  ready.set(resolve(dataDir), next);
  return next;
}

/** What the ship made on the host for its network, removed (table, bridge, leases): `stop --all`. Returns what went. */
export function teardownShipNet(dataDir: string): string[] {
  const { bridge, table } = netNames(dataDir);
  const gone: string[] = [];
  if (tryHostCmd('nft', ['delete', 'table', 'inet', table])) gone.push(`nftables table inet ${table}`);
  if (bridgeExists(bridge) && tryHostCmd('ip', ['link', 'del', bridge])) gone.push(`bridge ${bridge}`);
  rmSync(join(netDir(dataDir), 'leases'), { recursive: true, force: true });
  ready.delete(resolve(dataDir));
  forgetHostResources(dataDir);
  return gone;
}

/** The recorded direct path without touching the host (status, an adopted instance's upstream). */
export function recordedShipNet(dataDir: string): ShipNet | null {
  return readRecord(dataDir);
}

/** The veths on the bridge now (one per running sandbox). */
export function bridgePorts(bridge: string): string[] {
  try {
    return readdirSync(`/sys/class/net/${bridge}/brif`);
  } catch {
    return [];
  }
}
