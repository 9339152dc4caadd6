import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { commit } from '../../helpers/git.js';
import { runSsh, sshBase, startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep } from '../../helpers/wait.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';

const CLIENT = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];

/** A client that stays connected until the server ends it: stdin is a pipe the test never closes. */
interface Held {
  readonly child: ChildProcess;
  readonly ended: Promise<number | null>;
  stderr(): string;
}

function hold(cmd: string, args: readonly string[]): Held {
  const errPath = join(tmpDir('sp-held-'), 'err');
  const err = openSync(errPath, 'w');
  const child = spawn(cmd, [...args], { stdio: ['pipe', 'ignore', err] });
  const ended = new Promise<number | null>((r) => child.once('close', (code) => {
    closeSync(err);
    r(code);
  }));
  return { child, ended, stderr: () => readFileSync(errPath, 'utf8') };
}

/**
 * Re-authorization on every HQ change: any change of a key's options closes, at once, the open sessions the new
 * options would not allow, and only those.
 */
describe('ssh gate: HQ changes re-judge open sessions (OpenSSH client)', () => {
  let s: SshShip;
  const open: Held[] = [];
  before(async () => {
    s = await startSshShip({ admirals: { watched: '', kept: '', ptyuser: '' } });
  });
  after(async () => {
    for (const h of open) h.child.kill('SIGKILL');
    await s?.ship.stop();
  });

  const pubOf = (name: string): string => readFileSync(`${s.keys[name]?.privatePath}.pub`, 'utf8').trim();
  const synced = async (sha: string, since: number): Promise<void> => {
    await s.ship.waitForLog(new RegExp(`-> ${sha.slice(0, 7)}`), 30_000, since);
  };

  it('no options -> command="starphleet status" closes that key\'s open SFTP session within one pulse; other sessions stay', async () => {
    const since = s.ship.output().length;
    const sftp = hold('sftp', [...CLIENT, '-i', s.keys.watched?.privatePath ?? '', '-P', String(s.port), 'admiral@127.0.0.1']);
    open.push(sftp);
    const keptExec = hold('ssh', [...sshBase(s.keys.kept?.privatePath ?? '', s.port), 'admiral@127.0.0.1', 'sleep 120']);
    open.push(keptExec);
    await s.ship.waitForLog(/\(authorized_keys\/watched\) from 127\.0\.0\.1: sftp/, 20_000, since);
    await s.ship.waitForLog(/\(authorized_keys\/kept\) from 127\.0\.0\.1: exec "sleep 120"/, 20_000, since);
    // kept changes too, but its exec is still served the same way under no-pty: it must stay open.
    const sha = commit(s.hq, { 'authorized_keys/watched': `command="starphleet status" ${pubOf('watched')}\n`, 'authorized_keys/kept': `no-pty ${pubOf('kept')}\n` }, 'limit watched');
    await synced(sha, since);
    await s.ship.waitForLog(/authorized_keys\/watched\) from 127\.0\.0\.1: denied sftp: closed after an HQ change/, 20_000, since);
    // Interactive sftp only notices a closed connection at its next command: on an open session `ls` would work
    // and sftp would wait for more (its stdin stays open).
    sftp.child.stdin?.write('ls /\n');
    const code = await Promise.race([sftp.ended, sleep(30_000).then(() => 'still open' as const)]);
    assert.notEqual(code, 'still open', 'the SFTP session stayed open after its key was limited to a command');
    assert.notEqual(code, 0);
    assert.match(s.ship.output().slice(since), /authorized_keys\/watched\) from 127\.0\.0\.1: denied sftp: closed after an HQ change: this key may only run its forced command \(command= in authorized_keys\/watched\): no file transfer/);
    assert.equal(keptExec.child.exitCode, null, 'a session the new options still allow was closed');
    // The limited key's new logins get only the forced command.
    const r = await runSsh({ key: s.keys.watched?.privatePath ?? '', port: s.port, args: ['echo', 'hi'] });
    assert.match(r.stdout.toString(), /^ship testship/m);
    keptExec.child.kill();
    await keptExec.ended;
  });

  it('a key that loses its pty in HQ loses its sessions on a pty', async () => {
    const since = s.ship.output().length;
    const term = hold('ssh', [...sshBase(s.keys.ptyuser?.privatePath ?? '', s.port), '-tt', 'admiral@127.0.0.1', 'sleep 120']);
    open.push(term);
    await s.ship.waitForLog(/\(authorized_keys\/ptyuser\) from 127\.0\.0\.1: exec on pty "sleep 120"/, 20_000, since);
    const sha = commit(s.hq, { 'authorized_keys/ptyuser': `restrict ${pubOf('ptyuser')}\n` }, 'restrict ptyuser');
    await synced(sha, since);
    const code = await Promise.race([term.ended, sleep(30_000).then(() => 'still open' as const)]);
    assert.notEqual(code, 'still open');
    assert.match(s.ship.output().slice(since), /ptyuser\) from 127\.0\.0\.1: denied pty: closed after an HQ change: no pty for this key \(no-pty or restrict in authorized_keys\/ptyuser\)/);
  });

  it('the same key in a second file is an HQ problem naming both files, in hq check and in the status', async () => {
    const since = s.ship.output().length;
    const sha = commit(s.hq, { 'authorized_keys/kept-copy': `${pubOf('kept')}\n` }, 'copy kept');
    await synced(sha, since);
    const status = await s.ssh(['starphleet', 'status']);
    assert.match(status.stdout.toString(), /authorized_keys\/kept-copy.*also in authorized_keys\/kept/);
    const check = spawnSync(process.execPath, [...CLI_ARGS, 'hq', 'check', s.hq], { cwd: new URL('../../..', import.meta.url).pathname, encoding: 'utf8' });
    assert.equal(check.status, 1, check.stdout + check.stderr);
    assert.match(check.stdout + check.stderr, /authorized_keys\/kept-copy.*the same key \(SHA256:[^)]+\) is also in authorized_keys\/kept/);
    // Both files' options apply: kept has no-pty, so the copy without options does not bring the pty back.
    const r = await runSsh({ key: s.keys.kept?.privatePath ?? '', port: s.port, args: ['tty'], options: ['-tt'] });
    assert.match(r.stderr, /PTY allocation request failed/);
  });

  it('two files forcing different commands for one key admit nothing, and close its connections', async () => {
    const since = s.ship.output().length;
    const waiting = hold('ssh', [...sshBase(s.keys.kept?.privatePath ?? '', s.port), 'admiral@127.0.0.1', 'sleep 120']);
    open.push(waiting);
    await s.ship.waitForLog(/\(authorized_keys\/kept \+ authorized_keys\/kept-copy\) from 127\.0\.0\.1: exec "sleep 120"/, 20_000, since);
    const sha = commit(s.hq, { 'authorized_keys/kept': `command="echo one" ${pubOf('kept')}\n`, 'authorized_keys/kept-copy': `command="echo two" ${pubOf('kept')}\n` }, 'split');
    await synced(sha, since);
    const code = await Promise.race([waiting.ended, sleep(30_000).then(() => 'still open' as const)]);
    assert.notEqual(code, 'still open');
    const r = await runSsh({ key: s.keys.kept?.privatePath ?? '', port: s.port, args: ['true'] });
    assert.equal(r.code, 255);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
  });
});
