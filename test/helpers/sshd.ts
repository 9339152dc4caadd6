import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as net from 'node:net';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from './ship.js';
import { tmpDir } from './tmp.js';
import { waitFor } from './wait.js';

export interface Sshd {
  readonly port: number;
  readonly user: string;
  readonly child: ChildProcess;
  stop(): Promise<void>;
}

/**
 * A real OpenSSH sshd on loopback with a throw-away config, host key and authorized_keys (Debian's openssh-server).
 * Used where a test needs a real SSH git remote, and by the benchmarks as the peer to beat.
 */
export async function startSshd(authorizedKeys: readonly string[], extraConfig: readonly string[] = []): Promise<Sshd> {
  const dir = tmpDir('sp-sshd-');
  const port = await freePort();
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'host_ed25519')]);
  writeFileSync(join(dir, 'authorized_keys'), `${authorizedKeys.join('\n')}\n`, { mode: 0o600 });
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const config = [
    `Port ${port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${join(dir, 'host_ed25519')}`,
    `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
    `PidFile ${join(dir, 'sshd.pid')}`,
    'StrictModes no',
    'UsePAM no',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'PermitRootLogin prohibit-password',
    'Subsystem sftp internal-sftp',
    'LogLevel ERROR',
    ...extraConfig,
  ];
  writeFileSync(join(dir, 'sshd_config'), `${config.join('\n')}\n`);
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr?.on('data', (b: Buffer) => (err += b.toString()));
  await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`sshd exited ${child.exitCode}: ${err}`);
    return new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.end(), resolve(true)));
      s.on('error', () => resolve(false));
    });
  }, 'sshd to listen');
  const user = execFileSync('id', ['-un'], { encoding: 'utf8' }).trim();
  return {
    port,
    user,
    child,
    async stop() {
      if (child.exitCode !== null) return;
      const exited = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

