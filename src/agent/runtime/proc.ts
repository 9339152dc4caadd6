import { readdirSync, readFileSync } from 'node:fs';
import { killGroup } from '../../util/process-group.js';
import { isGone, procStat } from '../../util/proc-stat.js';

export { isSameProcess, processStartTime, type ProcIdentity } from '../../util/proc-stat.js';

/** Whether any live (non-zombie) process is still in the process group; kill(-pgid, 0) would count zombies nobody reaps. */
export function groupAlive(pgid: number): boolean {
  if (!groupMayExist(pgid)) return false;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (s && s.pgrp === pgid && !isGone(s)) return true;
  }
  return false;
}

/**
 * False only when the kernel says no process at all is in the group (ESRCH): the usual answer once a group is done,
 * one syscall instead of reading every process's stat. Zombies and other users' groups still need the scan.
 */
function groupMayExist(pgid: number): boolean {
  if (!Number.isInteger(pgid) || pgid <= 1) return true;
  try {
    process.kill(-pgid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  return true;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The sandboxes' own PID 1s in a process group: processes whose innermost pid (NSpid in /proc/<pid>/status) is 1 in a
 * namespace below the ship's. bwrap itself must not get SIGTERM (it drops the sandbox at once); their PID 1 passes it on.
 */
export function sandboxInits(pgid: number): number[] {
  const out: number[] = [];
  if (!groupMayExist(pgid)) return out;
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(Number(name));
    if (!s || s.pgrp !== pgid || s.state === 'Z') continue;
    let status: string;
    try {
      status = readFileSync(`/proc/${name}/status`, 'utf8');
    } catch {
      continue;
    }
    const ns = /^NSpid:\s*(.*)$/m.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
    if (ns.length >= 2 && ns[ns.length - 1] === '1') out.push(Number(name));
  }
  return out;
}

/**
 * SIGTERM (to the whole process group, or through `term` when the group needs it delivered otherwise), SIGKILL to the
 * group after graceMs. Only call it for a group whose leader was checked with isSameProcess: a stale pgid could name
 * someone else's group.
 */
export async function stopGroup(pgid: number, graceMs: number, term: (pgid: number) => void = (g) => killGroup(g, 'SIGTERM')): Promise<void> {
  term(pgid);
  const deadline = Date.now() + graceMs;
  while (groupAlive(pgid)) {
    if (Date.now() >= deadline) {
      killGroup(pgid, 'SIGKILL');
      const killDeadline = Date.now() + 5000;
      while (groupAlive(pgid) && Date.now() < killDeadline) await sleep(50);
      return;
    }
    await sleep(50);
  }
}
