import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { Upstream } from '../protocol/upstream.js';
import { socketInodes } from '../../util/proc-sockets.js';
import { nginxBinary } from '../../settings/dataplane-settings.js';
import { procStat } from '../../util/proc-stat.js';

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

export interface Worker {
  readonly pid: number;
  /** An old worker after a reload: it finishes what it has and exits. */
  readonly shuttingDown: boolean;
  /** When it started, in clock ticks since boot (/proc/<pid>/stat). */
  readonly started: number;
}

/** Clock ticks since boot now (/proc/uptime, in the 1/100 s units of /proc/<pid>/stat's start time). */
export function bootTicks(): number {
  return Math.floor(Number.parseFloat(readFileSync('/proc/uptime', 'utf8')) * 100);
}

/**
 * Whether a reload signalled at `hupTick` is done: a worker started since then answers, and every other worker (those
 * there before, and any the master was still starting from the config before: a plane given its first table right
 * after it started) is shutting down, so no new connection meets the old table.
 */
export function reloadDone(workers: readonly Worker[], hupTick: number): boolean {
  const fresh = (w: Worker): boolean => w.started >= hupTick;
  return workers.some(fresh) && workers.every((w) => fresh(w) || w.shuttingDown);
}

/** The live worker processes of one nginx master. */
export function workersOf(master: number): Worker[] {
  const out: Worker[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    const s = procStat(pid);
    if (!s || s.ppid !== master || s.state === 'Z') continue;
    const cmd = cmdline(pid);
    if (!cmd.startsWith('nginx: worker process') && !cmd.startsWith('nginx: cache')) continue;
    out.push({ pid, shuttingDown: cmd.includes('shutting down'), started: Number(s.startTime) });
  }
  return out;
}

export function isNginxMaster(pid: number, conf: string): boolean {
  const s = procStat(pid);
  return s !== null && s.state !== 'Z' && cmdline(pid).startsWith('nginx: master process') && cmdline(pid).includes(conf);
}


/** `127.0.0.1:4000` as /proc/net/tcp writes it (little-endian hex address, hex port). */
function procNetAddress(host: string, port: number): string | null {
  const parts = host.split('.').map(Number);
  if (parts.length !== 4 || parts.some((n) => !(n >= 0 && n <= 255))) return null;
  const hex = parts.reverse().map((n) => n.toString(16).padStart(2, '0')).join('').toUpperCase();
  return `${hex}:${port.toString(16).padStart(4, '0').toUpperCase()}`;
}

/** TCP states that still carry (or may carry) a request: not TIME_WAIT (06), CLOSE (07) or LISTEN (0A). */
const DONE = new Set(['06', '07', '0A']);

/**
 * What the nginx workers have open to an instance. TCP: their sockets (by inode) whose peer is the instance's address,
 * from /proc/net/tcp. A unix socket's peer is not in /proc/net/unix for the connecting side, so for a unix upstream
 * every old worker still alive counts as one (new workers never reach a retired instance); that may wait for an old
 * worker's unrelated long-lived connection, up to the drain timeout, but never stops an instance under a request.
 */
export function openToUpstream(master: number, u: Upstream): number {
  const workers = workersOf(master);
  if (u.kind === 'unix') return workers.filter((w) => w.shuttingDown).length;
  const want = procNetAddress(u.host, u.port);
  if (want === null) return workers.filter((w) => w.shuttingDown).length;
  const inodes = new Set<string>();
  for (const w of workers) for (const i of socketInodes(w.pid)) inodes.add(i);
  let n = 0;
  let text = '';
  try {
    text = readFileSync('/proc/net/tcp', 'utf8');
  } catch {
    return 0;
  }
  for (const line of text.split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length < 10) continue;
    if (f[2] === want && !DONE.has(f[3] ?? '') && inodes.has(f[9] ?? '')) n++;
  }
  return n;
}

/** Whether this nginx takes `http2 on;` (1.25.1 and later), from `nginx -v`. */
export function nginxHasHttp2On(binary = nginxBinary()): boolean {
  const r = spawnSync(binary, ['-v'], { encoding: 'utf8' });
  const m = /nginx\/(\d+)\.(\d+)\.(\d+)/.exec(`${r.stderr ?? ''}${r.stdout ?? ''}`);
  if (!m) return false;
  const [maj, min, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return maj > 1 || (maj === 1 && (min > 25 || (min === 25 && patch >= 1)));
}
