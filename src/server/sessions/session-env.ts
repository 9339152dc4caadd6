import { userInfo } from 'node:os';
import { join } from 'node:path';

/** Both ends of the TCP connection, for SSH_CONNECTION and the audit. */
export interface Peer {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localAddress: string;
  readonly localPort: number;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_VARS = 64;
const MAX_VALUE = 8192;
/** Set by the server from the identity and connection: a client `env` request never overrides them. */
const SERVER_OWNED = new Set(['SHLVL', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'PATH', 'TERM', 'MAIL', 'STARPHLEET_DATA', 'SSH_CONNECTION', 'SSH_CLIENT', 'SSH_ORIGINAL_COMMAND', 'SSH_TTY', 'STARPHLEET_SESSION']);

/** Collects a session's `env` requests the gate allowed; refuses malformed ones and names the server sets itself. */
export class ClientEnv {
  private readonly vars = new Map<string, string>();

  offer(key: string, val: string): boolean {
    if (!NAME.test(key) || SERVER_OWNED.has(key) || SERVER_OWNED.has(key.toUpperCase()) || val.length > MAX_VALUE || val.includes('\0')) return false;
    if (!this.vars.has(key) && this.vars.size >= MAX_VARS) return false;
    this.vars.set(key, val);
    return true;
  }

  entries(): [string, string][] {
    return [...this.vars];
  }
}

export function sessionPath(dataDir: string): string {
  return `${join(dataDir, 'bin')}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
}

export function homeDir(): string {
  return userInfo().homedir || '/';
}

/**
 * A clean environment, as sshd builds one: nothing of the ship's own env leaks into an admiral's session.
 */
export function sessionEnv(o: {
  readonly dataDir: string;
  readonly user: string;
  readonly peer: Peer;
  readonly clientEnv: ClientEnv;
  readonly term?: string;
  readonly originalCommand?: string;
}): Record<string, string> {
  const { peer } = o;
  const env: Record<string, string> = Object.fromEntries(o.clientEnv.entries());
  Object.assign(env, {
    HOME: homeDir(),
    USER: o.user,
    LOGNAME: o.user,
    SHELL: '/bin/bash',
    PATH: sessionPath(o.dataDir),
    STARPHLEET_DATA: o.dataDir,
    SSH_CONNECTION: `${peer.remoteAddress} ${peer.remotePort} ${peer.localAddress} ${peer.localPort}`,
    SSH_CLIENT: `${peer.remoteAddress} ${peer.remotePort} ${peer.localPort}`,
  });
  if (o.term !== undefined) env.TERM = o.term;
  if (o.originalCommand !== undefined) env.SSH_ORIGINAL_COMMAND = o.originalCommand;
  return env;
}
