import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { sweepEmptyCgroups } from './cgroups.js';
import { sweepVanishedShips } from './host-registry.js';
import { sweepLeases } from './net-leases.js';
import { subnetText, vethName } from './net-names.js';
import { ensureShipNet, setHostPorts, type ShipNet } from './net-ship.js';
import { parseHostPorts } from './net-rules.js';
import { removeRunDir, type SandboxHost } from './sandbox.js';
import { SHIP_HOST_NAME } from './etc-files.js';
import { hostPortsSetting } from '../../settings/agent-settings.js';

/** One line for status and the log: which network path instances use, and what of the ship they reach. */
export function describeNetwork(host: SandboxHost | null, net: ShipNet | null): string {
  if (host === null) return "the ship's loopback (STARPHLEET_RUNTIME=process: no network namespace)";
  if (host.net === 'none') return 'bridge socket, no outbound (the ship is not root: no veth, no NAT; the data plane reaches each instance through a relay in its sandbox)';
  if (!net) return 'direct (not set up yet)';
  const ports = net.hostPorts.length > 0 ? `${SHIP_HOST_NAME} ports ${net.hostPorts.join(', ')} (STARPHLEET_HOST_PORTS)` : `no ship port (${SHIP_HOST_NAME} is ${net.gateway}; STARPHLEET_HOST_PORTS lists none)`;
  return `direct: veths on bridge ${net.bridge} (${subnetText(net.subnet)}), outbound NATed by nftables table inet ${net.table}; ${ports}`;
}

/**
 * Run dirs of sandboxes that are gone while no ship watched them (their veth went with their namespace): removed with
 * the address they leased. A run dir younger than a minute may be a launch in progress and is left alone.
 */
export function sweepRunDirs(dataDir: string, minAgeMs = 60_000): number {
  const root = join(dataDir, 'sandbox');
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return 0;
  }
  let n = 0;
  for (const name of names) {
    if (!/^[0-9a-f]{16}$/.test(name)) continue;
    const dir = join(root, name);
    try {
      if (!existsSync(join(dir, 'address')) || Date.now() - statSync(dir).mtimeMs < minAgeMs) continue;
      const id = readFileSync(join(dir, 'id'), 'utf8');
      if (existsSync(`/sys/class/net/${vethName(dataDir, id)}`)) continue;
      removeRunDir(dataDir, id);
      n++;
    } catch {
      // No id (an older ship's run dir) or gone meanwhile: left to the instance's own end.
    }
  }
  return n;
}

/**
 * At the ship's start, as root: what ships of removed data dirs left on the host goes, the ship's bridge and table
 * are made (or found, with the veths of instances that outlived the last ship), and what sandboxes that died meanwhile
 * held (addresses, run dirs, empty cgroups) is swept. Returns the line for status.
 */
export function startShipNetwork(dataDir: string, host: SandboxHost | null, env: NodeJS.ProcessEnv, log: (line: string) => void, frontPorts: readonly number[] = []): string {
  if (host === null || host.net !== 'direct') return describeNetwork(host, null);
  for (const d of sweepVanishedShips()) log(`network: removed the bridge, table and mounts of ${d} (the data dir is gone)`);
  const net = ensureShipNet(dataDir, env, log, frontPorts);
  const runs = sweepRunDirs(dataDir);
  const leases = sweepLeases(dataDir);
  const cgroups = host.cgroups !== null ? sweepEmptyCgroups(dataDir) : 0;
  if (runs + leases + cgroups > 0) log(`swept what sandboxes that ended while no ship ran left: ${runs} run dir(s), ${leases} address(es), ${cgroups} cgroup(s)`);
  return describeNetwork(host, net);
}

/**
 * HQ `.starphleet` changed: STARPHLEET_HOST_PORTS goes into the ship's table (at once, for running instances too).
 * A bad value keeps the ports in force and is returned as the problem (with the setting's name).
 */
export function applyHqNetwork(dataDir: string, host: SandboxHost | null, hqEnv: Readonly<Record<string, string>>, env: NodeJS.ProcessEnv, log: (line: string) => void): { line: string; problem: string | null } {
  if (host === null || host.net !== 'direct') {
    const asked = hostPortsSetting(hqEnv)?.trim();
    return { line: describeNetwork(host, null), problem: asked ? `.starphleet: STARPHLEET_HOST_PORTS is ignored: ${host === null ? 'the process runtime' : 'a ship that is not root'} has no ship.internal` : null };
  }
  let ports: number[];
  try {
    ports = parseHostPorts(hostPortsSetting(hqEnv));
  } catch (e) {
    return { line: describeNetwork(host, ensureShipNet(dataDir, env, log)), problem: `.starphleet: ${(e as Error).message} (the ports in force stay)` };
  }
  const before = ensureShipNet(dataDir, env, log).hostPorts.join(',');
  const net = setHostPorts(dataDir, ports, env, log);
  if (before !== net.hostPorts.join(',')) log(`network: instances reach ${net.hostPorts.length > 0 ? `${SHIP_HOST_NAME} ports ${net.hostPorts.join(', ')}` : 'no ship port'} (STARPHLEET_HOST_PORTS)`);
  return { line: describeNetwork(host, net), problem: null };
}
