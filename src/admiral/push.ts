import { execFile, spawn } from 'node:child_process';
import { basename } from 'node:path';
import { promisify } from 'node:util';
import { PUSH_NAME } from '../data-dir/push-names.js';
import { AdmiralError, findRemote, formatTarget, type Remote } from './remotes.js';
import { gitSshCommand, hostKeyRefusal, teeStderr, waitChild } from './ssh-client.js';

const run = promisify(execFile);

async function git(args: readonly string[], cwd: string): Promise<string | null> {
  try {
    return (await run('git', [...args], { cwd, encoding: 'utf8' })).stdout.trim();
  } catch {
    return null;
  }
}

/** The URL the ship takes test builds on for this app. */
export function pushUrl(remote: Pick<Remote, 'host' | 'port'>, app: string): string {
  return `ssh://git@${remote.host.includes(':') ? `[${remote.host}]` : remote.host}:${remote.port}/${app}`;
}

/** The repo's directory name as a push name (lower case, other characters as '-'), when it makes a valid one. */
export function defaultApp(toplevel: string): string {
  return basename(toplevel).toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[^a-z0-9]+/, '');
}

/**
 * `starphleet -s <ship> push [<app>]`: the README's test-build flow in one command. Adds the git remote named like the
 * ship (ssh://git@host:port/<app>) when the repo has none of that name, then `git push <ship> <current branch>` with
 * the ship's pinned host key; the build streams back and the test instance serves until Ctrl-C.
 */
export async function pushToShip(configDir: string, shipName: string, app: string | undefined, cwd: string, err: (s: string) => void): Promise<number> {
  const remote = findRemote(configDir, shipName);
  const top = await git(['rev-parse', '--show-toplevel'], cwd);
  if (top === null) throw new AdmiralError(`${cwd} is not in a git repository: run push from your app's repo`);
  const branch = await git(['symbolic-ref', '--quiet', '--short', 'HEAD'], top);
  if (branch === null) throw new AdmiralError('HEAD is not on a branch (detached): check out the branch to push');
  if ((await git(['rev-parse', '--verify', '--quiet', 'HEAD'], top)) === null) throw new AdmiralError(`branch ${branch} has no commit yet: commit first`);
  const name = app ?? defaultApp(top);
  if (!PUSH_NAME.test(name)) {
    throw new AdmiralError(`app name ${JSON.stringify(name)}${app === undefined ? ` (from the directory ${basename(top)})` : ''}: use 1-63 of a-z 0-9 . _ - starting with a letter or digit, e.g. starphleet -s ${shipName} push myapp`);
  }
  const url = pushUrl(remote, name);
  const existing = await git(['remote', 'get-url', '--', shipName], top);
  if (existing === null) {
    if ((await git(['remote', 'add', '--', shipName, url], top)) === null) throw new AdmiralError(`git remote add ${shipName} ${url} failed`);
    err(`added git remote ${shipName} -> ${url}\n`);
  } else if (existing !== url) {
    throw new AdmiralError(`git remote ${shipName} points at ${existing}, not ${url}: push it yourself (git push ${shipName} ${branch}) or remove it (git remote remove ${shipName})`);
  }
  const child = spawn('git', ['push', shipName, branch], {
    cwd: top,
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, GIT_SSH_COMMAND: gitSshCommand(configDir, remote) },
  });
  const tail = teeStderr(child, err);
  const code = await waitChild(child);
  const refusal = code !== 0 ? hostKeyRefusal(tail(), remote, formatTarget(remote)) : null;
  if (refusal) err(refusal);
  return code;
}
