import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isSameProcess, processStartTime, type ProcIdentity } from '../runtime/proc.js';
import { killGroup } from '../../util/process-group.js';
import { removeRunDir } from './sandbox.js';

/** <data>/sandbox/builds/<pid>.json: the process group of every build step running now. */
function dir(dataDir: string): string {
  return join(dataDir, 'sandbox', 'builds');
}

interface BuildGroupRecord extends ProcIdentity {
  /** The ship process that runs the step: while it lives, the step is its own, not a leftover. */
  readonly owner?: ProcIdentity;
  /** The step's sandbox run (its run dir, address lease, /tmp), when it has one. */
  readonly runId?: string;
}

/** What prepareSandbox names a build step's run: `step-` and 12 hex digits. */
const STEP_RUN_ID = /^step-[0-9a-f]{12}$/;

/**
 * Records a build step's process group (and its sandbox run), so a ship killed with -9 meanwhile can end it at its
 * next start and free what its sandbox held.
 */
export function recordBuildGroup(dataDir: string, pid: number, runId?: string): () => void {
  const startTime = processStartTime(pid);
  if (startTime === null) return () => {};
  mkdirSync(dir(dataDir), { recursive: true, mode: 0o700 });
  const file = join(dir(dataDir), `${pid}.json`);
  const ownerStart = processStartTime(process.pid);
  const record: BuildGroupRecord = { pid, startTime, ...(ownerStart !== null ? { owner: { pid: process.pid, startTime: ownerStart } } : {}), ...(runId !== undefined ? { runId } : {}) };
  writeFileSync(file, JSON.stringify(record));
  return () => rmSync(file, { force: true });
}

/**
 * Ends the build steps an earlier ship process left running (only groups whose leader still is that very process).
 * A step whose ship still runs is left alone: during `ssh update@ship` the old ship finishes its builds while the new
 * one starts.
 */
export function killLeftoverBuilds(dataDir: string): number {
  let names: string[];
  try {
    names = readdirSync(dir(dataDir));
  } catch {
    return 0;
  }
  let killed = 0;
  for (const name of names) {
    const file = join(dir(dataDir), name);
    try {
      const id = JSON.parse(readFileSync(file, 'utf8')) as BuildGroupRecord;
      if (id.owner && id.owner.pid !== process.pid && isSameProcess(id.owner)) continue;
      if (!Number.isInteger(id.pid) || typeof id.startTime !== 'string') throw new Error('not a record');
      if (isSameProcess(id) && killGroup(id.pid, 'SIGKILL')) {
        killed++;
        waitGone(id);
      }
      // Its run dir, address and /tmp: the dead ship never freed them (the age-based sweep would leave them a while).
      if (typeof id.runId === 'string' && STEP_RUN_ID.test(id.runId) && !isSameProcess(id)) removeRunDir(dataDir, id.runId);
    } catch {
      // A record cut short by the kill: nothing to end.
    }
    rmSync(file, { force: true });
  }
  return killed;
}

/** Up to 2 s for a killed step's leader to end (its sandbox, and the namespaces and veth it held, end with it). */
function waitGone(leader: ProcIdentity): void {
  for (let i = 0; i < 100 && isSameProcess(leader); i++) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
}
