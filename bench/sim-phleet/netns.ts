import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { readlinkSync } from 'node:fs';
import { randomBytes } from 'node:crypto';

/**
 * The simulation's network, made with the host's own tools and named for this run only, so concurrent runs (and the
 * other users of this machine) never meet it: a bridge `spb-<id>` holding 10.X.Y.1, and per ship an unnamed network
 * namespace (held by an `unshare --net sleep infinity` process) joined to the bridge by a veth pair, its address
 * 10.X.Y.<10+n>. A partition is an nftables table of this run's own (`inet spsim_<id>`) that drops what chosen ships
 * send to HQ's git port. remove() takes it all away.
 */
export interface SimNet {
  readonly id: string;
  readonly hostAddress: string;
  address(n: number): string;
  /**
   * The command a process runs under to live in ship n's namespace: nsenter into the namespace of its holder process,
   * not `ip netns exec <name>`: on this shared machine the bind mount under /run/netns that names a namespace was seen
   * to vanish seconds to minutes after it was made, while a process holds it for good.
   */
  enter(n: number): string[];
  /** Resolves once every holder lives in its namespace. */
  ready(): Promise<void>;
  /** Drops the ships' packets to the host's git port (the others and the HTTP clients are untouched). */
  partition(ships: readonly number[], port: number): void;
  heal(): void;
  remove(): void;
}

function run(...args: string[]): string {
  return execFileSync(args[0] as string, args.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

function tryRun(...args: string[]): void {
  try {
    run(...args);
  } catch {
    // Already gone.
  }
}

/** A 10.X.Y.0/24 no route of this host covers yet. */
function freeSubnet(): string {
  const routes = run('ip', '-4', 'route', 'show', 'table', 'all');
  for (let i = 0; i < 200; i++) {
    const x = 200 + Math.floor(Math.random() * 50);
    const y = Math.floor(Math.random() * 250) + 1;
    if (!routes.includes(`10.${x}.${y}.`)) return `10.${x}.${y}`;
  }
  throw new Error('no free 10.x.y.0/24 found for the simulation');
}

export async function createSimNet(ships: number): Promise<SimNet> {
  if (ships > 200) throw new Error('at most 200 ships in one simulation');
  const id = randomBytes(2).toString('hex');
  const prefix = freeSubnet();
  const bridge = `spb-${id}`;
  const table = `spsim_${id}`;
  const hostVeth = (n: number): string => `sv${id}${n.toString(36).padStart(2, '0')}`;
  let made = 0;
  const holders: ChildProcess[] = [];
  const net: SimNet = {
    id,
    hostAddress: `${prefix}.1`,
    address: (n) => `${prefix}.${10 + n}`,
    enter: (n) => ['nsenter', `--net=/proc/${holders[n]?.pid ?? 0}/ns/net`, '--'],
    async ready() {
      const host = readlinkSync('/proc/self/ns/net');
      const inside = (h: ChildProcess): boolean => {
        try {
          return readlinkSync(`/proc/${h.pid ?? 0}/ns/net`) !== host;
        } catch {
          return false;
        }
      };
      for (let i = 0; i < 200 && !holders.every(inside); i++) await new Promise((r) => setTimeout(r, 50));
      if (!holders.every(inside)) throw new Error('the namespace holders did not enter their namespaces');
    },
    partition(list, port) {
      net.heal();
      if (list.length === 0) return;
      run('nft', 'add', 'table', 'inet', table);
      run('nft', 'add', 'chain', 'inet', table, 'input', '{ type filter hook input priority 0; policy accept; }');
      run('nft', 'add', 'rule', 'inet', table, 'input', 'ip', 'saddr', `{ ${list.map((n) => net.address(n)).join(', ')} }`, 'tcp', 'dport', String(port), 'drop');
    },
    heal() {
      tryRun('nft', 'delete', 'table', 'inet', table);
    },
    remove() {
      net.heal();
      for (const h of holders) h.kill('SIGKILL');
      // A namespace ends with its holder and takes its veth end along; the host end may outlive it a moment.
      for (let n = 0; n < made; n++) tryRun('ip', 'link', 'delete', hostVeth(n));
      tryRun('ip', 'link', 'delete', bridge);
    },
  };
  try {
    run('ip', 'link', 'add', bridge, 'type', 'bridge');
    run('ip', 'addr', 'add', `${prefix}.1/24`, 'dev', bridge);
    run('ip', 'link', 'set', bridge, 'up');
    for (let n = 0; n < ships; n++) {
      made = n + 1;
      // An unnamed namespace made by its holder: nothing under /run/netns that can vanish (it did, within seconds,
      // while other runs on this machine made and removed theirs).
      const holder = spawn('unshare', ['--net', 'sleep', 'infinity'], { stdio: 'ignore' });
      holder.unref();
      holders.push(holder);
    }
    await net.ready();
    for (let n = 0; n < ships; n++) {
      const inner = `si${id}${n.toString(36).padStart(2, '0')}`;
      const inside = (...args: string[]): string => run(...net.enter(n), ...args);
      run('ip', 'link', 'add', hostVeth(n), 'type', 'veth', 'peer', 'name', inner);
      run('ip', 'link', 'set', inner, 'netns', String(holders[n]?.pid ?? 0));
      run('ip', 'link', 'set', hostVeth(n), 'master', bridge, 'up');
      inside('ip', 'link', 'set', inner, 'name', 'eth0');
      inside('ip', 'addr', 'add', `${net.address(n)}/24`, 'dev', 'eth0');
      inside('ip', 'link', 'set', 'eth0', 'up');
      inside('ip', 'link', 'set', 'lo', 'up');
    }
  } catch (e) {
    net.remove();
    throw e;
  }
  return net;
}
