import { readdirSync, readFileSync } from 'node:fs';
import { printable } from '../../util/terminal-safe.js';
import { socketInodes } from '../../util/proc-sockets.js';
import { isGone, procStat } from '../../util/proc-stat.js';

/**
 * What a build step is doing right now, read from /proc: the newest process of its process group that started nothing
 * itself (what the step waits on: `npm install`, `git fetch`, `sleep`), and the TCP connections of the group that are
 * still being set up, or open. It is said when a step has been silent for a while and when it is killed, so "stuck on
 * an unreachable dependency" reads as such instead of silence.
 */
interface Proc {
  readonly pid: number;
  readonly ppid: number;
  readonly start: number;
}

function groupProcs(pgid: number): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const s = procStat(name);
    if (s === null || s.pgrp !== pgid || isGone(s)) continue;
    out.push({ pid: Number(name), ppid: s.ppid, start: Number(s.startTime) });
  }
  return out;
}

function commandLine(pid: number): string {
  try {
    // The process names itself (its argv is its own to write): only printable text of it is shown.
    const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
    return printable(argv.join(' ').replace(/\s+/g, ' '), 160);
  } catch {
    return '';
  }
}


/** `0100007F:01BB` (or 32 hex digits for IPv6), as the kernel prints /proc/net/tcp: 32-bit words in host order. */
function address(hex: string): string {
  const [ip, port] = hex.split(':');
  if (ip === undefined || port === undefined) return hex;
  const words = ip.match(/.{8}/g) ?? [];
  const bytes = words.flatMap((w) => (w.match(/../g) ?? []).reverse().map((b) => parseInt(b, 16)));
  const p = parseInt(port, 16);
  if (bytes.length === 4) return `${bytes.join('.')}:${p}`;
  if (bytes.slice(0, 10).every((b) => b === 0) && bytes[10] === 255 && bytes[11] === 255) return `${bytes.slice(12).join('.')}:${p}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((((bytes[i] ?? 0) << 8) | (bytes[i + 1] ?? 0)).toString(16));
  return `[${groups.join(':')}]:${p}`;
}

/** The group's TCP connections (in the step's own network namespace): SYN_SENT ones first, as "connecting to". */
function connections(procs: readonly Proc[]): string[] {
  const inodes = new Set<string>();
  for (const p of procs) for (const i of socketInodes(p.pid)) inodes.add(i);
  if (inodes.size === 0 || procs.length === 0) return [];
  const connecting: string[] = [];
  const open: string[] = [];
  for (const table of ['tcp', 'tcp6']) {
    let text = '';
    try {
      text = readFileSync(`/proc/${(procs[0] as Proc).pid}/net/${table}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !inodes.has(f[9] as string)) continue;
      if (f[3] === '02') connecting.push(address(f[2] as string));
      else if (f[3] === '01') open.push(address(f[2] as string));
    }
  }
  const uniq = (a: string[]): string[] => [...new Set(a)].slice(0, 3);
  return [...uniq(connecting).map((a) => `connecting to ${a} (no answer yet)`), ...uniq(open).map((a) => `connected to ${a}`)];
}

/** One line: what the step's process group runs now, and its connections; null when nothing of it runs. */
export function stepActivity(pgid: number | undefined): string | null {
  if (pgid === undefined) return null;
  const procs = groupProcs(pgid);
  if (procs.length === 0) return null;
  const parents = new Set(procs.map((p) => p.ppid));
  const leaves = procs
    .filter((p) => !parents.has(p.pid))
    .map((p) => ({ ...p, cmd: commandLine(p.pid) }))
    .sort((a, b) => b.start - a.start);
  const what = leaves[0]?.cmd ?? '';
  const net = connections(procs);
  return [what ? `running ${what}` : 'running', ...net].join(', ');
}
