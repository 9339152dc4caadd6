import { execFileSync } from 'node:child_process';
import { userInfo } from 'node:os';
import { sandboxUser as sandboxUserName, USER_NAME } from './sandbox-user.js';

/**
 * The ship-wide sandbox account: container bases are provisioned as it, and a ship that is not root runs every
 * sandbox as itself. Never uid 0. Each service's own sandboxes run as a uid of their own (service-users.ts).
 */
export interface SandboxUser {
  readonly name: string;
  readonly uid: number;
  readonly gid: number;
}


function lookup(name: string): SandboxUser | null {
  let line: string;
  try {
    line = execFileSync('getent', ['passwd', name], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
  const f = line.split(':');
  const uid = Number(f[2]);
  const gid = Number(f[3]);
  return Number.isInteger(uid) && Number.isInteger(gid) ? { name, uid, gid } : null;
}

/**
 * STARPHLEET_SANDBOX_USER (default `starphleet`, as `starphleet install` makes it), created as a system user without home or shell when the ship
 * runs as root and it is missing. A ship that is not root runs sandboxes as itself: it is unprivileged already.
 */
export function sandboxUser(env: NodeJS.ProcessEnv = process.env): SandboxUser {
  if (process.getuid?.() !== 0) {
    const me = userInfo();
    return { name: me.username, uid: me.uid, gid: me.gid };
  }
  const name = sandboxUserName(env).trim();
  if (!USER_NAME.test(name)) throw new Error(`STARPHLEET_SANDBOX_USER must be a user name, got ${JSON.stringify(name)}`);
  let u = lookup(name);
  if (!u) {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (e) {
      // Two ships starting at once: the other one may have created it.
      if (!lookup(name)) throw new Error(`cannot create the sandbox user ${name} (useradd): ${(e as Error).message}`);
    }
    u = lookup(name);
  }
  if (!u) throw new Error(`sandbox user ${name} not found after useradd`);
  if (u.uid === 0 || u.gid === 0) throw new Error(`STARPHLEET_SANDBOX_USER ${name} has uid or gid 0: sandboxes must not run as root`);
  return u;
}
