import { isGone, procStat } from './proc-stat.js';

/**
 * Whether a process still runs. kill(pid, 0) also answers for a zombie nobody has reaped yet (a ship killed after its
 * parent had gone, waiting for PID 1), which holds no socket, no lock and no instance: that counts as gone.
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !isGone(procStat(pid));
}
