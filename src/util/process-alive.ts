import { readFileSync } from 'node:fs';

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
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces and parentheses: the state is the first field after the last ')'.
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}
