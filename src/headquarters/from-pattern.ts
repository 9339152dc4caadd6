import { isIP } from 'node:net';

/**
 * OpenSSH `from="pattern-list"`: comma-separated address patterns with `*`/`?` wildcards, `!` negation and CIDRs.
 * Hostnames are not resolved (no DNS on the auth path), so a hostname pattern only matches when it is the address.
 * A negated match refuses at once, as in OpenSSH's match_host_and_ip.
 */

type Pattern = { negate: boolean } & ({ kind: 'glob'; re: RegExp } | { kind: 'cidr'; net: bigint; bits: number; v6: boolean });

function ipToBigInt(ip: string): { v: bigint; v6: boolean } | null {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) ip = mapped[1] as string;
  const family = isIP(ip);
  if (family === 4) {
    return { v: ip.split('.').reduce((acc, o) => (acc << 8n) | BigInt(Number(o)), 0n), v6: false };
  }
  if (family === 6) {
    const [head = '', tail = ''] = ip.split('::');
    const h = head ? head.split(':') : [];
    const t = ip.includes('::') && tail ? tail.split(':') : [];
    const groups = ip.includes('::') ? [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t] : h;
    return { v: groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n), v6: true };
  }
  return null;
}

function parseOne(raw: string): Pattern | string {
  const negate = raw.startsWith('!');
  const p = negate ? raw.slice(1) : raw;
  if (p === '') return 'empty pattern';
  const slash = p.indexOf('/');
  if (slash >= 0) {
    const addr = ipToBigInt(p.slice(0, slash));
    const bits = Number(p.slice(slash + 1));
    if (!addr || !/^\d+$/.test(p.slice(slash + 1)) || bits > (addr.v6 ? 128 : 32)) return `bad CIDR ${JSON.stringify(p)}`;
    const width = addr.v6 ? 128 : 32;
    const mask = bits === 0 ? 0n : ((1n << BigInt(bits)) - 1n) << BigInt(width - bits);
    if ((addr.v & ~mask & ((1n << BigInt(width)) - 1n)) !== 0n) return `CIDR has host bits set: ${JSON.stringify(p)}`;
    return { negate, kind: 'cidr', net: addr.v, bits, v6: addr.v6 };
  }
  if (!/^[A-Za-z0-9.:*?_-]+$/.test(p)) return `bad address pattern ${JSON.stringify(p)}`;
  const re = new RegExp(`^${p.replace(/[.]/g, '\\.').replace(/\*/g, '.*').replace(/\?/g, '.')}$`, 'i');
  return { negate, kind: 'glob', re };
}

export interface FromPatterns {
  readonly patterns: readonly Pattern[];
}

export function parseFromPatterns(list: string): FromPatterns | { error: string } {
  const patterns: Pattern[] = [];
  for (const raw of list.split(',')) {
    const p = parseOne(raw.trim());
    if (typeof p === 'string') return { error: p };
    patterns.push(p);
  }
  return { patterns };
}

function matchesOne(p: Pattern, address: string): boolean {
  if (p.kind === 'glob') {
    const plain = address.replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/i, '$1');
    return p.re.test(plain);
  }
  const a = ipToBigInt(address);
  if (!a || a.v6 !== p.v6) return false;
  const width = p.v6 ? 128 : 32;
  const shift = BigInt(width - p.bits);
  return a.v >> shift === p.net >> shift;
}

/** True when the client address is allowed by the list. */
export function fromAllows(list: FromPatterns, address: string): boolean {
  let allowed = false;
  for (const p of list.patterns) {
    if (!matchesOne(p, address)) continue;
    if (p.negate) return false;
    allowed = true;
  }
  return allowed;
}
