import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, statSync } from 'node:fs';
import { planePaths } from '../../data-dir/plane-paths.js';
import { tlsPaths } from '../../data-dir/tls-paths.js';
import { nginxUserSetting } from '../../settings/dataplane-settings.js';

/**
 * The unprivileged user nginx's workers run as when the ship (and so the nginx master) runs as root: a system user
 * of the ship's own, made on first use (`useradd --system`, no home, no shell), or STARPHLEET_NGINX_USER to name an
 * existing one. The workers parse every client's bytes: as root, one bug in them (or a socket path they follow) is
 * the machine. They reach only what the plane hands their group: the htpasswd files, nginx's temp folders, the ACME
 * answers and the ship's HTTP socket (folders above those get group search, nothing to list or write).
 */
export const DEFAULT_WORKER_USER = 'starphleet-www';

export interface WorkerUser {
  readonly name: string;
  /** Its primary group's name (nginx's `user NAME GROUP`). */
  readonly group: string;
  readonly uid: number;
  readonly gid: number;
}

/** `id NAME`'s first words: `uid=998(name) gid=998(group)`; a primary group without a name is no usable user. */
const ID_LINE = /^uid=(\d+)\([^)]*\) gid=(\d+)\(([^)]+)\)/;

function lookup(name: string): WorkerUser | null {
  // One `id` (through NSS, as nginx will resolve it) for the uid, the gid and the group's name.
  let out: string;
  try {
    out = execFileSync('id', [name], { encoding: 'utf8', env: { ...process.env, LC_ALL: 'C' }, stdio: ['ignore', 'pipe', 'ignore'] });
  } catch {
    return null;
  }
  const m = ID_LINE.exec(out);
  return m ? { name, uid: Number(m[1]), gid: Number(m[2]), group: m[3] as string } : null;
}

let cached: WorkerUser | null = null;

/**
 * The workers' user, made when missing (unless create is false: then null when there is none); null when this
 * process is not root (nginx then keeps the master's user).
 */
export function workerUser(env: NodeJS.ProcessEnv = process.env, create = true): WorkerUser | null {
  if (process.getuid?.() !== 0) return null;
  if (cached) return cached;
  const name = nginxUserSetting(env) ?? DEFAULT_WORKER_USER;
  if (!/^[a-z_][a-z0-9_-]{0,31}$/.test(name)) throw new Error(`STARPHLEET_NGINX_USER must be a user name, got ${JSON.stringify(name)}`);
  let u = lookup(name);
  if (!u && !create) return null;
  if (!u && name === DEFAULT_WORKER_USER) {
    try {
      execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--home-dir', '/nonexistent', '--shell', '/usr/sbin/nologin', name], { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch {
      // Another ship on this host made it at the same moment: looked up again below.
    }
    u = lookup(name);
  }
  if (!u) throw new Error(`STARPHLEET_NGINX_USER: no user ${JSON.stringify(name)} on this host${name === DEFAULT_WORKER_USER ? ' (useradd failed)' : ''}`);
  if (u.uid === 0 || u.gid === 0) throw new Error(`STARPHLEET_NGINX_USER: ${name} is root's uid or gid; nginx's workers need an unprivileged user`);
  cached = u;
  return u;
}

/** Gives the workers' group a path: its group set, the mode given (the owner stays). */
export function shareWith(u: WorkerUser, path: string, mode: number): void {
  chownSync(path, statSync(path).uid, u.gid);
  chmodSync(path, mode);
}

/** Adds group search (no listing) to a folder above what the workers read, with the workers' group. */
function searchable(u: WorkerUser, dir: string): void {
  const st = statSync(dir);
  if (st.gid !== u.gid) chownSync(dir, st.uid, u.gid);
  if ((st.mode & 0o010) === 0) chmodSync(dir, (st.mode & 0o7777) | 0o010);
}

/** The folders the workers must reach in a data dir, opened to their group (called as root, before nginx starts). */
export function openDataDirToWorkers(u: WorkerUser, dataDir: string, own: { prefix: string; htpasswdDir: string; tempDir: string; challengeDir: string }, shipSocket: string): void {
  for (const d of [dataDir, planePaths.dir(dataDir), tlsPaths.dir(dataDir)]) {
    mkdirSync(d, { recursive: true, mode: 0o700 });
    searchable(u, d);
  }
  mkdirSync(own.challengeDir, { recursive: true, mode: 0o750 });
  shareWith(u, own.challengeDir, 0o750);
  shareWith(u, own.prefix, 0o710);
  shareWith(u, own.htpasswdDir, 0o750);
  shareWith(u, own.tempDir, 0o710);
  // A ship that made its socket before this user existed could not share it.
  if (existsSync(shipSocket)) shareWith(u, shipSocket, 0o660);
}

/** The ship's HTTP socket (the webhook): the workers proxy to it, so their group may connect. */
export function shareSocketWithWorkers(path: string): void {
  // Made by the nginx plane when it first starts (which then shares this socket); the ship never makes it.
  const u = workerUser(process.env, false);
  if (!u || !existsSync(path)) return;
  shareWith(u, path, 0o660);
}
