import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCgroup, cgroupVersion, procsFiles, sweepEmptyCgroups, type Cgroup } from './cgroups.js';
import { systemMounts } from './mounts.js';
import { BRIDGE, INSTANCE_INIT, LAUNCHER, STEP_INIT } from './scripts.js';
import type { SandboxLimits } from './settings.js';
import type { SandboxUser } from './user.js';

/** What this ship can give a sandbox: who it runs as, which cgroups, whether it gets an uplink. */
export interface SandboxHost {
  readonly user: SandboxUser;
  /** Whether to switch to the user (the ship is root) or run as the ship (it is not). */
  readonly switchUser: boolean;
  readonly cgroups: 1 | 2 | null;
  /** slirp4netns gives the sandbox's network namespace outbound traffic (the ship's loopback is 10.0.2.2). */
  readonly slirp: boolean;
}

export interface Mount {
  readonly src: string;
  readonly dest: string;
  readonly rw: boolean;
}

export type SandboxInit =
  | { readonly kind: 'instance'; readonly script: string; readonly bridge: boolean }
  | { readonly kind: 'step'; readonly argv: readonly string[] };

/** One run of service code: an instance, or one step of a build. */
export interface SandboxRun {
  /** Names its run dir and its cgroup: letters, digits, '.', '_', '-'. */
  readonly id: string;
  readonly dataDir: string;
  readonly mounts: readonly Mount[];
  readonly chdir: string;
  readonly env: Readonly<Record<string, string>>;
  readonly hostname: string;
  readonly limits: SandboxLimits;
  readonly init: SandboxInit;
}

export interface PreparedSandbox {
  readonly file: string;
  readonly args: string[];
  /** The launcher's env: the ship's minimal one, never the service's. */
  readonly env: Record<string, string>;
  readonly cgroup: Cgroup | null;
}

/**
 * Where the ship keeps a sandbox's launcher files; its `sock/` dir holds an instance's bridge socket. Named by a short
 * hash of the id, not the id itself: a unix socket path has at most 107 bytes, and release ids are long.
 */
export function sandboxRunDir(dataDir: string, id: string): string {
  return join(dataDir, 'sandbox', createHash('sha256').update(id).digest('hex').slice(0, 16));
}

/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** The unix socket the front door dials for an instance of the bwrap runtime. */
export function instanceSocket(dataDir: string, id: string): string {
  const path = join(sandboxRunDir(dataDir, id), 'sock', 'http.sock');
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new Error(`data dir ${dataDir} is too long for the instances' unix sockets (${path} has ${Buffer.byteLength(path)} bytes, at most ${MAX_SOCKET_PATH}): use a shorter --data path`);
  }
  return path;
}

const LAUNCHER_ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };
const SOCK_DIR = '/run/starphleet/sock';

function envFile(env: Readonly<Record<string, string>>): string {
  let out = '';
  for (const [k, v] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(k)) throw new Error(`env name ${JSON.stringify(k)} is not a valid variable name`);
    if (v.includes('\0')) throw new Error(`env ${k} holds a NUL byte`);
    out += `${k}=${v}\0`;
  }
  return out;
}

/**
 * Writes the run dir (env file 0600 root: bwrap gets it through an fd; resolv.conf for slirp's DNS; the socket dir
 * owned by the sandbox user), creates the cgroup and returns what to spawn. Nothing of the service's env is in the
 * returned argv or env: argv is world-readable in /proc.
 */
export function prepareSandbox(host: SandboxHost, run: SandboxRun): PreparedSandbox {
  const dir = sandboxRunDir(run.dataDir, run.id);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
  writeFileSync(join(dir, 'env'), envFile(run.env), { mode: 0o600 });
  const args = ['--unshare-all', '--cap-drop', 'ALL', '--as-pid-1', '--hostname', run.hostname];
  if (run.init.kind === 'step') args.push('--die-with-parent');
  args.push(...systemMounts());
  if (host.slirp) {
    writeFileSync(join(dir, 'resolv.conf'), 'nameserver 10.0.2.3\n', { mode: 0o644 });
    args.push('--ro-bind', join(dir, 'resolv.conf'), '/etc/resolv.conf');
  }
  for (const m of run.mounts) args.push(m.rw ? '--bind' : '--ro-bind', m.src, m.dest);
  let tail: string[];
  if (run.init.kind === 'instance') {
    const sock = join(dir, 'sock');
    mkdirSync(sock, { mode: 0o750 });
    if (host.switchUser) chownSync(sock, host.user.uid, host.user.gid);
    args.push('--bind', sock, SOCK_DIR);
    tail = ['bash', '-c', INSTANCE_INIT, 'starphleet-init', run.init.script, run.init.bridge ? `${SOCK_DIR}/http.sock` : '', BRIDGE];
  } else tail = ['bash', '-c', STEP_INIT, 'starphleet-init', ...run.init.argv];
  args.push('--chdir', run.chdir, '--', ...tail);
  let cgroup: Cgroup | null = null;
  if (host.cgroups !== null) {
    sweepEmptyCgroups();
    cgroup = createCgroup(`${run.id}`, run.limits);
    writeFileSync(join(dir, 'cgroup.json'), JSON.stringify(cgroup), { mode: 0o600 });
  }
  const user = host.switchUser ? [String(host.user.uid), String(host.user.gid)] : ['-', '-'];
  return {
    file: 'bash',
    args: ['-c', LAUNCHER, 'starphleet-sandbox', dir, cgroup ? procsFiles(cgroup).join(':') : '', ...user, host.slirp ? 'slirp' : 'none', ...args],
    env: { ...LAUNCHER_ENV },
    cgroup,
  };
}

/** The cgroup a run dir recorded, if any (an adopted instance's, after a ship restart). */
export function recordedCgroup(dataDir: string, id: string): Cgroup | null {
  try {
    const c = JSON.parse(readFileSync(join(sandboxRunDir(dataDir, id), 'cgroup.json'), 'utf8')) as Cgroup;
    return (c.version === 1 || c.version === 2) && Array.isArray(c.dirs) ? c : null;
  } catch {
    return null;
  }
}

export function removeRunDir(dataDir: string, id: string): void {
  rmSync(sandboxRunDir(dataDir, id), { recursive: true, force: true });
}

/** Gives the sandbox user a tree it must write (a build dir, a cache); never follows symlinks. */
export function handTo(host: SandboxHost, path: string): void {
  if (!host.switchUser) return;
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.uid !== host.user.uid || st.gid !== host.user.gid) lchownSync(p, host.user.uid, host.user.gid);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(path);
}

/** Whether a sandbox starts here at all: bwrap as the sandbox user with every namespace; the reason when not. */
export function probeSandbox(host: SandboxHost): string | null {
  const drop = host.switchUser ? ['setpriv', `--reuid=${host.user.uid}`, `--regid=${host.user.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'] : [];
  const argv = [...drop, 'bwrap', '--unshare-all', '--cap-drop', 'ALL', '--as-pid-1', ...systemMounts(), '--', 'true'];
  const r = spawnSync(argv[0] as string, argv.slice(1), { env: LAUNCHER_ENV, encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `${argv[0]}: ${r.error.message}`;
  if (r.status !== 0) return `bwrap with user, pid, net, ipc and uts namespaces failed as ${host.user.name}: ${(r.stderr || `exit ${r.status}`).trim()}`;
  return null;
}

/** The host as it is: the sandbox user, the cgroup version, and slirp4netns when it is installed and the ship is root. */
export function describeHost(user: SandboxUser): SandboxHost {
  const root = process.getuid?.() === 0;
  const slirp = root && spawnSync('slirp4netns', ['--version'], { stdio: 'ignore' }).status === 0;
  return { user, switchUser: root, cgroups: root ? cgroupVersion() : null, slirp };
}
