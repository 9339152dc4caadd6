import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { hostRange, ipToNumber, numberToIp, vethName } from './net-names.js';
import { netDir, type ShipNet } from './net-ship.js';

/**
 * <data>/net/leases/<address>: the sandbox run that holds an address, made with O_EXCL so two launches (or two ship
 * processes during an update) never get the same one. Freed when the run ends; a lease whose veth is gone is swept.
 */
function leaseDir(dataDir: string): string {
  return join(netDir(dataDir), 'leases');
}

export function leaseAddress(dataDir: string, net: ShipNet, runId: string): string {
  const dir = leaseDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const { first, last } = hostRange(net.subnet);
  const gateway = ipToNumber(net.gateway);
  const count = last - first + 1;
  const start = Math.floor(Math.random() * count);
  for (let i = 0; i < count; i++) {
    const n = first + ((start + i) % count);
    if (n === gateway) continue;
    const ip = numberToIp(n);
    let fd: number;
    try {
      fd = openSync(join(dir, ip), 'wx', 0o600);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw e;
    }
    writeSync(fd, runId);
    closeSync(fd);
    return ip;
  }
  throw new Error(`no free address left in ${net.subnet.network}/${net.subnet.prefix} (${count - 1} sandboxes run): set STARPHLEET_INSTANCE_NET to a larger subnet`);
}

/** Frees the address a run held, if it still holds it. */
export function freeLease(dataDir: string, ip: string, runId: string): void {
  const f = join(leaseDir(dataDir), ip);
  try {
    if (readFileSync(f, 'utf8') === runId) rmSync(f, { force: true });
  } catch {
    // Gone already.
  }
}

/**
 * Leases whose sandbox is gone (its veth went with its namespace) and that are older than a launch could take, freed:
 * what instances that died while no ship ran held. Returns how many.
 */
export function sweepLeases(dataDir: string, minAgeMs = 60_000): number {
  const dir = leaseDir(dataDir);
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  let n = 0;
  for (const ip of names) {
    const f = join(dir, ip);
    try {
      if (Date.now() - statSync(f).mtimeMs < minAgeMs) continue;
      const runId = readFileSync(f, 'utf8');
      if (existsSync(`/sys/class/net/${vethName(dataDir, runId)}`)) continue;
      rmSync(f, { force: true });
      n++;
    } catch {
      // Gone meanwhile.
    }
  }
  return n;
}
