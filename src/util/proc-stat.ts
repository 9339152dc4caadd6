import { readFileSync } from 'node:fs';

/** What the kernel says of a process in /proc/<pid>/stat, the fields this ship reads. */
export interface ProcStat {
  /** R, S, D, Z (zombie), X (dead), ... */
  readonly state: string;
  readonly ppid: number;
  readonly pgrp: number;
  /** Field 22: start time in clock ticks since boot; a pid is reused, a pid with its start time is not. */
  readonly startTime: string;
  /** Fields 14-17, in clock ticks: CPU time of the process itself, and of its children it has waited for. */
  readonly cpuTicks: { readonly self: number; readonly children: number };
}

/**
 * /proc/<pid>/stat read and split, or null when there is no such process (or the line is not what the kernel
 * writes). The command name (field 2) is the process's own to set and may hold spaces and parentheses: the fields
 * are counted after the last ')'.
 */
export function procStat(pid: number | string): ProcStat | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const state = rest[0];
  const ppid = Number(rest[1]);
  const pgrp = Number(rest[2]);
  const startTime = rest[19];
  const [utime, stime, cutime, cstime] = rest.slice(11, 15).map(Number);
  if (!state || startTime === undefined || !Number.isInteger(ppid) || !Number.isInteger(pgrp)) return null;
  return { state, ppid, pgrp, startTime, cpuTicks: { self: (utime ?? 0) + (stime ?? 0), children: (cutime ?? 0) + (cstime ?? 0) } };
}

/** Ended, whether reaped or not: a zombie holds no socket, lock or port. */
export function isGone(s: ProcStat | null): boolean {
  return s === null || s.state === 'Z' || s.state === 'X';
}

/** A process as the kernel names it: a pid is reused, a pid plus its start time is not. */
export interface ProcIdentity {
  readonly pid: number;
  /** Field 22 of /proc/<pid>/stat: start time in clock ticks since boot. */
  readonly startTime: string;
}

export function processStartTime(pid: number): string | null {
  return procStat(pid)?.startTime ?? null;
}

/** True when the pid still is the process that was recorded (same start time) and has not exited (zombies count as gone). */
export function isSameProcess(id: ProcIdentity): boolean {
  const s = procStat(id.pid);
  return s !== null && !isGone(s) && s.startTime === id.startTime;
}
