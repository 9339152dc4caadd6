import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { groupAlive, isSameProcess } from '../../src/agent/runtime/proc.js';
import { killGroup as signalGroup } from '../../src/util/process-group.js';
import { stopDataPlane } from '../../src/dataplane/ship-side/plane-process.js';
import { openDb } from '../../src/state/db.js';
import { listInstances } from '../../src/state/instances.js';
import { waitFor } from './wait.js';

/**
 * Instances and the data plane outlive the ship by design, so a test must end them itself: stop the data plane, then
 * SIGKILL every process group recorded in the data dir's state db (only those still really ours). Use it in after() hooks.
 */
export async function killRecordedInstances(dataDir: string): Promise<void> {
  // The data plane outlives ships by design too.
  await stopDataPlane(dataDir);
  const file = join(dataDir, 'state.db');
  if (!existsSync(file)) return;
  const db = openDb(file);
  try {
    const groups = listInstances(db)
      .filter((r) => isSameProcess(r))
      .map((r) => r.pid);
    for (const g of groups) signalGroup(g, 'SIGKILL');
    await waitFor(() => groups.every((g) => !groupAlive(g)), 'recorded instances to exit', 10_000);
  } finally {
    db.close();
  }
}

/** Whether a process of this pid is alive (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
