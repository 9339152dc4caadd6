import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { waitFor } from './wait.js';
import { PYTHON } from './python.js';

/**
 * A real zombie: python forks a child that exits at once and is never reaped, and the parent lives on (kill it when
 * done). With ownGroup the child first makes a process group of its own, so that group holds nothing but the zombie.
 */
export async function unreapedZombie(o: { ownGroup?: boolean } = {}): Promise<{ pid: number; parent: ChildProcess }> {
  const child = o.ownGroup ? 'os.setpgid(0, 0)\n    os._exit(0)' : 'os._exit(0)';
  const parent = spawn(PYTHON, ['-c', `import os, time\npid = os.fork()\nif pid == 0:\n    ${child}\nprint(pid, flush=True)\ntime.sleep(60)`], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    let out = '';
    parent.stdout.on('data', (d: Buffer) => (out += d.toString()));
    const pid = Number(await waitFor(() => (/^\d+\n/.test(out) ? out.trim() : null), 'the zombie pid', 10_000));
    await waitFor(() => readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.startsWith('Z') ?? false, 'the child to be a zombie', 10_000);
    return { pid, parent };
  } catch (e) {
    parent.kill('SIGKILL');
    throw e;
  }
}
