import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { after, test } from 'node:test';
import { stepActivity } from '../../../src/agent/releases/step-activity.js';
import { killGroup } from '../../../src/util/process-group.js';
import { waitFor } from '../../helpers/wait.js';

/** What a silent build step is said to wait for, read from /proc of its process group. */
const started: ChildProcess[] = [];
after(() => {
  for (const c of started) killGroup(c.pid, 'SIGKILL');
});

function group(command: string): ChildProcess {
  const c = spawn('bash', ['-c', command], { detached: true, stdio: ['ignore', 'pipe', 'ignore'] });
  started.push(c);
  return c;
}

test('the newest process of the group, made printable, and the connections it is still opening', async () => {
  // A listener that never accepts, with the smallest backlog: once its queue is full, further SYNs go unanswered.
  const listener = group(`exec python3 -c "import socket,sys,time; s=socket.socket(); s.bind(('127.0.0.1',0)); s.listen(0); print(s.getsockname()[1], flush=True); time.sleep(60)"`);
  const port = await new Promise<number>((resolve) => listener.stdout?.once('data', (b: Buffer) => resolve(Number(b.toString().trim()))));
  const step = group(`sleep 0.2; exec -a $'fetch\\x1b[31m' node -e "for (let i = 0; i < 6; i++) require('net').connect(${port}, '127.0.0.1').on('error', () => {}); setTimeout(() => {}, 60000)"`);
  const said = await waitFor(() => {
    const a = stepActivity(step.pid);
    return a !== null && a.includes('connecting to') ? a : null;
  }, 'a connection still being opened', 20_000);
  assert.match(said, /^running fetch\[31m -e for \(let i = 0/, 'the process as it names itself, without the escape');
  assert.ok(said.includes(`connecting to 127.0.0.1:${port} (no answer yet)`), said);
  assert.ok(!/[\u0000-\u001f]/.test(said));
  assert.equal(stepActivity(999_999_999), null, 'a group with no process');
});
