import { readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { InstanceRecord } from '../../state/instances.js';
import { isGone, procStat } from '../../util/proc-stat.js';
import { processStartTime } from './proc.js';
import type { RuntimeKind } from './runtime-types.js';

/**
 * Every instance's launcher carries STARPHLEET_INSTANCE=<runtime>:<id>:<data dir> in its environment (the launcher's
 * only, never the service's env file): a process the state db does not know (a ship killed between the spawn and
 * the db write, a db restored from a backup) is still found by it in /proc, and stopped at the next start.
 */
export const INSTANCE_MARK = 'STARPHLEET_INSTANCE';

export function instanceMark(kind: RuntimeKind, id: string, dataDir: string): string {
  return `${kind}:${id}:${resolve(dataDir)}`;
}

function pgrpOf(pid: number): number | null {
  const s = procStat(pid);
  return s === null || isGone(s) ? null : s.pgrp;
}

/** The real uid of a process, from /proc/<pid>/status. */
function uidOf(pid: number): number | null {
  try {
    const m = /^Uid:\s*(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/**
 * The mark of a launcher. Only processes of the ship's own uid count: a sandboxed process can put anything in its own
 * environ (and lead a group of its own), and must not get the ship to stop a sandbox it names (or clean its run dir).
 */
function markOf(pid: number): string | null {
  if (uidOf(pid) !== (process.getuid?.() ?? -1)) return null;
  let env: string;
  try {
    env = readFileSync(`/proc/${pid}/environ`, 'latin1');
  } catch {
    return null;
  }
  const prefix = `${INSTANCE_MARK}=`;
  for (const kv of env.split('\0')) if (kv.startsWith(prefix)) return kv.slice(prefix.length);
  return null;
}

/**
 * Group leaders marked as instances of this data dir whose id is not among `known`: records made up for them (state
 * 'draining', so nothing adopts them), ready for killRecorded.
 */
export function findStrayInstances(dataDir: string, known: ReadonlySet<string>): InstanceRecord[] {
  const want = resolve(dataDir);
  const out: InstanceRecord[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || pgrpOf(pid) !== pid) continue;
    const mark = markOf(pid);
    if (mark === null) continue;
    const m = /^(bwrap|process):([^:]+):(.*)$/.exec(mark);
    if (!m || m[3] !== want || known.has(m[2] as string)) continue;
    const startTime = processStartTime(pid);
    if (startTime === null) continue;
    const id = m[2] as string;
    out.push({ id, service: '', release: '', pid, startTime, port: 0, state: 'draining', runtime: m[1] as RuntimeKind, startedAt: '', process: '' });
  }
  return out;
}
