import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { knownHostsFile } from './config-dir.js';
import type { Remote } from './remotes.js';
import { posixCommandLine } from '../util/shell-quote.js';

import { sshCommand } from '../settings/phleet-settings.js';
export { sshCommand };

/** The alias the remote's key is pinned under: ssh looks it up instead of the host name (and without the port). */
export function hostKeyAlias(name: string): string {
  return `starphleet-remote.${name}`;
}

function optionValue(v: string): string {
  // ssh's config parser splits on white space unless the value is double-quoted.
  return /[\s"]/.test(v) ? `"${v.replace(/"/g, '')}"` : v;
}

/**
 * Options that make ssh accept exactly the pinned key of this remote and nothing else: our own known_hosts file
 * (not ~/.ssh/known_hosts, not the system's), strict checking, no learning of other keys.
 */
export function pinOptions(configDir: string, remote: Pick<Remote, 'name'>): string[] {
  return [
    '-o', `HostKeyAlias=${hostKeyAlias(remote.name)}`,
    '-o', `UserKnownHostsFile=${optionValue(knownHostsFile(configDir))}`,
    '-o', 'GlobalKnownHostsFile=/dev/null',
    '-o', 'StrictHostKeyChecking=yes',
    '-o', 'UpdateHostKeys=no',
    '-o', 'CheckHostIP=no',
  ];
}

/** Where ssh connects: `-p PORT admiral@host` (a user@ in the spec always wins over ~/.ssh/config's User). */
export function destination(remote: Pick<Remote, 'host' | 'port'>, user = 'admiral'): string[] {
  return ['-p', String(remote.port), `${user}@${remote.host}`];
}

/** Runs the ssh command with args as its arguments, as git runs GIT_SSH_COMMAND: `sh -c '<cmd> "$@"' ssh args...`. */
export function spawnSsh(args: readonly string[], stdio: StdioOptions, env: NodeJS.ProcessEnv = process.env): ChildProcess {
  return spawn('sh', ['-c', `${sshCommand(env)} "$@"`, 'ssh', ...args], { stdio, env });
}

/** A GIT_SSH_COMMAND that pins the remote's host key the same way. */
export function gitSshCommand(configDir: string, remote: Pick<Remote, 'name'>, env: NodeJS.ProcessEnv = process.env): string {
  return [sshCommand(env), posixCommandLine(pinOptions(configDir, remote))].join(' ');
}

/** When ssh refused the pinned key, a message that says what happened and what to do; null for any other failure. */
export function hostKeyRefusal(stderr: string, remote: Remote, target: string): string | null {
  if (!/Host key verification failed/.test(stderr)) return null;
  const sent = /key sent by the remote host is\s*\n?\s*(SHA256:[A-Za-z0-9+/]+)/.exec(stderr)?.[1];
  if (/REMOTE HOST IDENTIFICATION HAS CHANGED|has changed and you have requested strict checking/.test(stderr)) {
    return (
      `starphleet: refused: the host key of ship ${remote.name} (${target}) has changed. Pinned: ${remote.fingerprint}; ` +
      `the ship sent: ${sent ?? 'another key'}.\n` +
      `  Someone may be impersonating the ship, or it was reinstalled with new host keys. Check the fingerprint on the ship ` +
      `(its log line "ssh host key ..."), and only then re-pin it:\n` +
      `  starphleet remote remove ${remote.name} && starphleet remote add ${remote.name} ${target}${sent ? ` --fingerprint ${sent}` : ''}\n`
    );
  }
  return (
    `starphleet: refused: no pinned host key of ship ${remote.name} (${target}) matches what it sent${sent ? ` (${sent})` : ''}. ` +
    `Re-pin it with: starphleet remote remove ${remote.name} && starphleet remote add ${remote.name} ${target}\n`
  );
}

/** Copies a child's stderr to ours as it comes, keeping the last part to explain a failure afterwards. */
export function teeStderr(child: ChildProcess, write: (s: string) => void): () => string {
  let tail = '';
  child.stderr?.on('data', (b: Buffer) => {
    const s = b.toString('utf8');
    write(s);
    tail = (tail + s).slice(-16_384);
  });
  return () => tail;
}

/** Exit code of a finished child: its own, or 128+signal as a shell reports it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? ({ SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGKILL: 9, SIGTERM: 15, SIGPIPE: 13 } as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 1);
}

/**
 * Waits for the child, leaving Ctrl-C to it: the terminal sends SIGINT to the whole foreground group, ssh or git ends
 * the remote side, and we report its exit code instead of dying first.
 */
export function waitChild(child: ChildProcess): Promise<number> {
  const ignore = (): void => {};
  process.on('SIGINT', ignore);
  return new Promise((resolve, reject) => {
    child.once('error', (e) => {
      process.removeListener('SIGINT', ignore);
      reject(e);
    });
    child.once('close', (code, signal) => {
      process.removeListener('SIGINT', ignore);
      resolve(exitCodeOf(code, signal));
    });
  });
}
