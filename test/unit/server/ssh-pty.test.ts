import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pty from 'node-pty';
import { sshBase, startSshShip, type SshShip } from '../../helpers/ssh.js';
import { waitFor } from '../../helpers/wait.js';

describe('ssh with a PTY (OpenSSH client)', () => {
  let s: SshShip;
  before(async () => {
    s = await startSshShip();
  });
  after(async () => {
    await s?.ship.stop();
  });

  it('ssh -tt runs the command on a /dev/pts terminal', async () => {
    const r = await s.ssh(['tty'], { options: ['-tt'] });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout.toString(), /^\/dev\/pts\/\d+\r?\n$/);
  });

  it('an interactive shell runs commands, follows window changes, honours TERM and ^C, and exits cleanly', async () => {
    // The OpenSSH client itself runs on a terminal here, exactly as when a person types `ssh admiral@ship`.
    const term = pty.spawn('ssh', [...sshBase(s.admiral.privatePath, s.port), '-tt', 'admiral@127.0.0.1'], {
      name: 'xterm-256color',
      cols: 80,
      rows: 24,
      env: { ...process.env, TERM: 'xterm-256color' } as Record<string, string>,
    });
    let out = '';
    term.onData((d) => (out += d));
    const exited = new Promise<number>((r) => term.onExit(({ exitCode }) => r(exitCode)));
    const expect = async (re: RegExp, what: string): Promise<void> => {
      await waitFor(() => re.test(out), `${what}; output so far: ${JSON.stringify(out.slice(-500))}`, 15_000);
    };
    // Markers are computed by the shell, so the echo of what we typed never matches them.
    term.write('echo "r=$((6*7))"\r');
    await expect(/r=42/, 'the shell to answer');
    term.write('echo "t=$TERM" "tty=$(tty)"\r');
    await expect(/t=xterm-256color tty=\/dev\/pts\/\d+/, 'TERM and the tty');
    term.resize(100, 40);
    await new Promise((r) => setTimeout(r, 300));
    term.write('echo "size=$(stty size | tr " " x)"\r');
    await expect(/size=40x100/, 'the window change to reach the remote terminal');
    term.write('sleep 30; echo "n=$((1+1))-not-interrupted"\r');
    await new Promise((r) => setTimeout(r, 500));
    term.write('\x03');
    term.write('echo "after=$((2+2))"\r');
    await expect(/after=4/, 'the shell to come back after ^C');
    assert.doesNotMatch(out, /n=2-not-interrupted/);
    term.write('exit 5\r');
    assert.equal(await exited, 5);
  });
});
