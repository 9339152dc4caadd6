import { subnetText, type Subnet } from './net-names.js';

/** What the ship's nftables table says: the bridge, its subnet and gateway, which ship ports instances may reach. */
export interface RulesSpec {
  readonly table: string;
  readonly bridge: string;
  readonly subnet: Subnet;
  readonly gateway: string;
  /** STARPHLEET_HOST_PORTS: TCP ports of the ship reachable at `ship.internal` (the gateway). */
  readonly hostPorts: readonly number[];
  /** When the host's only resolver is on its loopback (127.0.0.53...): DNS to the gateway goes there. */
  readonly dnsLoopback: string | null;
  /** The front door's ports (HTTP, HTTPS): public anyway, so a service may call another through the ship's address. */
  readonly frontPorts?: readonly number[];
}

/**
 * The ship's table, replaced whole in one nft transaction (add, delete, define: atomic, so a change never leaves a
 * moment without the filter). Only this table is ever touched; the host's own tables and rules stay as they are.
 * - prerouting: instance -> gateway on an allowed port is DNATed to the ship's 127.0.0.1 (a database that listens on
 *   the loopback only is reachable as ship.internal:5432); DNS likewise when the host's resolver is on loopback.
 * - input: from the bridge only replies, those DNATs and the front door's public ports (one service calling another
 *   through the ship's address); everything else of the ship (SSH, metrics, any port) is refused.
 * - forward: nothing enters the bridge but replies (no other instance, ship or host reaches an instance by routing);
 *   from the bridge, the Internet, never loopback, link-local (cloud metadata) or multicast.
 * - postrouting: the instances' subnet is masqueraded behind whatever address the host goes out with.
 */
export function renderTable(r: RulesSpec): string {
  const br = JSON.stringify(r.bridge);
  const net = subnetText(r.subnet);
  const ports = r.hostPorts.length > 0 ? `\n    elements = { ${r.hostPorts.join(', ')} }` : '';
  const front = (r.frontPorts ?? []).length > 0 ? `\n    elements = { ${(r.frontPorts ?? []).join(', ')} }` : '';
  const dns = r.dnsLoopback
    ? `    iifname ${br} ip daddr ${r.gateway} udp dport 53 dnat ip to ${r.dnsLoopback}\n    iifname ${br} ip daddr ${r.gateway} tcp dport 53 dnat ip to ${r.dnsLoopback}\n`
    : '';
  return `add table inet ${r.table}
delete table inet ${r.table}
table inet ${r.table} {
  set ship_ports {
    type inet_service;${ports}
  }
  set front_ports {
    type inet_service;${front}
  }
  chain dnat_in {
    type nat hook prerouting priority dstnat; policy accept;
    iifname ${br} ip daddr ${r.gateway} tcp dport @ship_ports dnat ip to 127.0.0.1
${dns}  }
  chain filter_in {
    type filter hook input priority filter; policy accept;
    iifname ${br} ct state established,related accept
    iifname ${br} ct status dnat accept
    iifname ${br} tcp dport @front_ports accept
    iifname ${br} meta l4proto tcp reject with tcp reset
    iifname ${br} reject with icmpx admin-prohibited
  }
  chain filter_fwd {
    type filter hook forward priority filter; policy accept;
    oifname ${br} ct state established,related accept
    oifname ${br} reject with icmpx admin-prohibited
    iifname ${br} meta nfproto ipv6 reject with icmpx admin-prohibited
    iifname ${br} ip daddr { 127.0.0.0/8, 169.254.0.0/16, 224.0.0.0/4, 255.255.255.255 } reject with icmpx admin-prohibited
  }
  chain snat_out {
    type nat hook postrouting priority srcnat; policy accept;
    ip saddr ${net} oifname != ${br} masquerade
  }
}
`;
}

/** STARPHLEET_HOST_PORTS (`.starphleet`): TCP ports separated by spaces or commas; empty or unset: none. */
export function parseHostPorts(raw: string | undefined): number[] {
  if (raw === undefined || raw.trim() === '') return [];
  const out = new Set<number>();
  for (const word of raw.split(/[\s,]+/).filter((w) => w !== '')) {
    const n = /^\d{1,5}$/.test(word) ? Number(word) : NaN;
    if (!(n >= 1 && n <= 65535)) throw new Error(`STARPHLEET_HOST_PORTS must list TCP port numbers (1-65535) separated by spaces or commas, got ${JSON.stringify(word)} in ${JSON.stringify(raw)}`);
    out.add(n);
  }
  return [...out].sort((a, b) => a - b);
}
