import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Where the account files are: `root` is `/`, or the tree of `starphleet install --root DIR`. */
function names(root: string, file: 'passwd' | 'group'): string[] {
  try {
    return readFileSync(join(root, 'etc', file), 'utf8')
      .split('\n')
      .map((l) => l.split(':')[0] ?? '')
      .filter(Boolean);
  } catch {
    return [];
  }
}

export function userExists(root: string, user: string): boolean {
  return names(root, 'passwd').includes(user);
}

export function groupExists(root: string, group: string): boolean {
  return names(root, 'group').includes(group);
}

function run(cmd: string, args: readonly string[]): void {
  try {
    execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} failed: ${(err.stderr ?? '').trim() || err.message}`);
  }
}

const rootArgs = (root: string): string[] => (root === '/' ? [] : ['--root', root]);

/** A system user with its own group, no home and no login shell: it only runs builds and instances. */
export function createSystemUser(root: string, user: string): void {
  run('useradd', [...rootArgs(root), '--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', '--comment', 'starphleet sandbox', user]);
}

/** Removes the user, and its group when userdel left it (login.defs' USERGROUPS_ENAB decides). */
export function removeSystemUser(root: string, user: string): void {
  if (userExists(root, user)) run('userdel', [...rootArgs(root), user]);
  if (groupExists(root, user)) run('groupdel', [...rootArgs(root), user]);
}
