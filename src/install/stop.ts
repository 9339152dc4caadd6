import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { killRecorded } from '../agent/runtime/instances.js';
import { removeShipCgroups } from '../agent/sandbox/cgroups.js';
import { unmountUnder } from '../agent/sandbox/host-registry.js';
import { teardownShipNet } from '../agent/sandbox/net-ship.js';
import { stopDataPlane } from '../dataplane/ship-side/plane-process.js';
import { isRecordedProcess, readPlaneRecord } from '../dataplane/ship-side/plane-record.js';
import { openDb } from '../state/db.js';
import { listInstances } from '../state/instances.js';
import { processAlive } from '../util/process-alive.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The pid in <data>/ship.pid when it is a live `starphleet ship` (a stale file may name a reused pid). */
function shipPid(dataDir: string): number | null {
  let pid: number;
  try {
    pid = Number(readFileSync(join(dataDir, 'ship.pid'), 'utf8').trim());
  } catch {
    return null;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !processAlive(pid)) return null;
  try {
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return argv.includes('ship') ? pid : null;
  } catch {
    return null;
  }
}

export interface StopOptions {
  readonly dataDir: string;
  /** Also every instance recorded in the data dir (which otherwise outlive the ship, to be adopted). */
  readonly all: boolean;
  /** How long the ship gets after SIGTERM before SIGKILL; instances get graceMs each too. */
  readonly graceMs: number;
  readonly out: (text: string) => void;
}

/**
 * `starphleet stop [--all]`: SIGTERM to the ship of the data dir (it finishes what it can and exits), SIGKILL after
 * the grace; with --all then the data plane and every recorded instance (process group SIGTERM, then SIGKILL). Under systemd use
 * `systemctl stop starphleet` first, or the unit restarts a ship killed with SIGKILL. Returns the exit code.
 */
export async function stopShip(o: StopOptions): Promise<number> {
  if (!existsSync(o.dataDir)) {
    o.out(`no data dir ${o.dataDir}: nothing to stop\n`);
    return o.all ? 0 : 1;
  }
  const pid = shipPid(o.dataDir);
  if (pid === null) o.out(`no ship is running with data dir ${o.dataDir}\n`);
  else {
    process.kill(pid, 'SIGTERM');
    const deadline = Date.now() + o.graceMs;
    while (processAlive(pid) && Date.now() < deadline) await sleep(100);
    if (processAlive(pid)) {
      process.kill(pid, 'SIGKILL');
      while (processAlive(pid)) await sleep(50);
      o.out(`ship (pid ${pid}) did not stop within ${o.graceMs / 1000} s: killed\n`);
    } else o.out(`ship (pid ${pid}) stopped\n`);
  }
  if (!o.all) return pid === null ? 1 : 0;
  // The data plane (the HTTP front door) is its own process and outlives ships like instances do.
  const plane = readPlaneRecord(o.dataDir);
  if (plane && isRecordedProcess(plane)) {
    await stopDataPlane(o.dataDir);
    o.out(`data plane (pid ${plane.pid}, ${plane.kind}) stopped\n`);
  }
  const dbPath = join(o.dataDir, 'state.db');
  let rc = 0;
  if (existsSync(dbPath)) {
    let db: ReturnType<typeof openDb> | null = null;
    try {
      db = openDb(dbPath);
    } catch (e) {
      o.out(`cannot read the instances of ${dbPath}: ${(e as Error).message}\n`);
      rc = 1;
    }
    if (db) {
      try {
        const recs = listInstances(db);
        await Promise.all(recs.map((r) => killRecorded(db, r, o.graceMs, o.dataDir)));
        o.out(recs.length === 0 ? 'no instances were running\n' : `stopped ${recs.length} instance${recs.length === 1 ? '' : 's'}: ${recs.map((r) => `${r.service} (pid ${r.pid})`).join(', ')}\n`);
      } finally {
        db.close();
      }
    }
  }
  if (process.getuid?.() === 0) {
    // Nothing of the ship stays on the host: its bridge, its nftables table, its cgroup folders, its volumes' mounts.
    const gone = teardownShipNet(o.dataDir);
    if (gone.length > 0) o.out(`removed ${gone.join(', ')}\n`);
    const left = await removeShipCgroups(o.dataDir);
    if (left > 0) o.out(`${left} cgroup folder(s) of the ship still hold processes: left in place\n`);
    const unmounted = unmountUnder(o.dataDir);
    if (unmounted > 0) o.out(`unmounted ${unmounted} service volume(s)\n`);
  }
  return rc;
}
