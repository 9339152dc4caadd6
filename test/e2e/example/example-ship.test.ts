import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { killRecordedInstances } from '../../helpers/instances.js';
import { freePort } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { Push } from '../../helpers/git-push.js';
import { httpGet } from '../../helpers/phleet.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * `npm run example` as a newcomer meets it: a HOME with no ~/.ssh. It must start and say exactly how to get in; a
 * key made afterwards is an admiral after the next start. Ctrl-C is played as the terminal does it: SIGINT to the
 * whole process group (npm, the script, the ship).
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const home = tmpDir('sp-example-home-');
const base = join(tmpDir('sp-example-'), 'example');
let running: { child: ChildProcess; out: () => string } | null = null;

async function example(sshPort: number, httpPort: number, o: { home?: string; base?: string } = {}): Promise<{ child: ChildProcess; out: () => string }> {
  const child = spawn('npm', ['run', 'example'], {
    cwd: ROOT,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    // Metrics and the dashboard on any free port: the defaults may be taken by the other ships of a test run.
    env: {
      ...process.env,
      HOME: o.home ?? home,
      STARPHLEET_EXAMPLE_DIR: o.base ?? base,
      SSH_PORT: String(sshPort),
      HTTP_PORT: String(httpPort),
      STARPHLEET_PULSE: '0.5',
      STARPHLEET_METRICS_LISTEN: '127.0.0.1:0',
      STARPHLEET_DASHBOARD_LISTEN: '127.0.0.1:0',
    },
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  running = { child, out: () => out };
  return running;
}

async function ctrlC(r: { child: ChildProcess }): Promise<void> {
  const exited = new Promise<void>((res) => (r.child.exitCode !== null ? res() : r.child.once('exit', () => res())));
  process.kill(-(r.child.pid as number), 'SIGINT');
  await exited;
  running = null;
}

const quietHome = tmpDir('sp-example-quiet-home-');
const quietBase = join(tmpDir('sp-example-quiet-'), 'example');

after(async () => {
  if (running) await ctrlC(running).catch(() => undefined);
  await killRecordedInstances(join(base, 'data'));
  await killRecordedInstances(join(quietBase, 'data'));
});

describe('npm run example', { timeout: 900_000 }, () => {
  test('with no key in ~/.ssh it starts and says what to do; a key made later gets in after the next start', async () => {
    const sshPort = await freePort();
    const httpPort = await freePort();
    const first = await example(sshPort, httpPort);
    await waitFor(() => /ssh listening on/.test(first.out()), () => `the example ship to listen\n${first.out().slice(-3000)}`, 300_000);
    const hint = first.out();
    assert.match(hint, new RegExp(`no SSH key yet: ${join(home, '.ssh')} has no id_\\*\\.pub`));
    assert.match(hint, /ssh-keygen -t ed25519/);
    assert.match(hint, /run `npm run example` again: the new key becomes an admiral/);
    assert.match(hint, new RegExp(`ssh -p ${sshPort} admiral@localhost`));
    assert.match(hint, new RegExp(`or put any public key in ${join(base, 'headquarters', 'authorized_keys')}/<name> and commit it there`));

    // Following the hint: a key, then Ctrl-C and start again.
    mkdirSync(join(home, '.ssh'), { mode: 0o700 });
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'newcomer@example', '-f', join(home, '.ssh', 'id_ed25519')]);
    const before = await runSsh({ key: join(home, '.ssh', 'id_ed25519'), port: sshPort, args: ['starphleet version'] });
    assert.equal(before.code, 255, 'not an admiral yet');
    await ctrlC(first);

    const second = await example(sshPort, httpPort);
    await waitFor(() => /1 admirals/.test(second.out()), () => `the key to be an admiral\n${second.out().slice(-3000)}`, 300_000);
    assert.match(second.out(), new RegExp(`admiral: ${join(home, '.ssh', 'id_ed25519.pub')}`));
    assert.doesNotMatch(second.out(), /no SSH key yet/);
    const r = await runSsh({ key: join(home, '.ssh', 'id_ed25519'), port: sshPort, args: ['starphleet version'] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), '0.1.0\n');
    await ctrlC(second);
  });

  test('a fresh example says no error or warning through its first deploy, its write-back and a git push test instance', async () => {
    mkdirSync(join(quietHome, '.ssh'), { mode: 0o700 });
    const key = join(quietHome, '.ssh', 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'quiet@example', '-f', key]);
    const sshPort = await freePort();
    const httpPort = await freePort();
    const r = await example(sshPort, httpPort, { home: quietHome, base: quietBase });
    await waitFor(async () => (await httpGet(httpPort, '/hello/').catch(() => ({ status: 0 }))).status === 200, () => `hello to serve\n${r.out().slice(-3000)}`, 300_000, 500);
    await waitFor(() => /ships\/example: written back/.test(r.out()), () => `the write-back\n${r.out().slice(-3000)}`, 60_000);
    const record = execFileSync('git', ['-C', join(quietBase, 'headquarters'), 'show', 'HEAD:ships/example'], { encoding: 'utf8' });
    assert.match(record, /"name": "example"/, 'ships/example is in the example HQ');
    // A test instance of the hello service, pushed as the README shows, then Ctrl-C.
    const push = new Push([`ssh://git@127.0.0.1:${sshPort}/hello`, 'master'], { cwd: join(quietBase, 'services', 'hello'), key });
    await push.waitLine(/answers at http:/, 300_000);
    push.interrupt();
    await push.exited;
    await waitFor(() => /push hello [0-9a-f]{7}: test instance \S+ stopped/.test(r.out()), () => `the test instance to stop\n${r.out().slice(-3000)}`, 60_000);
    const noisy = r.out().split('\n').filter((l) => /error|warn|fail|exception|MaxListeners|not written back/i.test(l));
    assert.deepEqual(noisy, [], r.out().slice(-4000));
    await ctrlC(r);
  });
});
