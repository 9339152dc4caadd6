import { createHash } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, lchownSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { createCgroup, cgroupVersion, procsFiles, sweepEmptyCgroups, type Cgroup } from './cgroups.js';
import { sandboxEtc, type SandboxNetView } from './etc-files.js';
import { installedTool, TOOL_ENV } from './host-cmd.js';
import { etcMounts, hiddenPlaceholders, systemMounts } from './mounts.js';
import { freeLease, leaseAddress } from './net-leases.js';
import { vethName } from './net-names.js';
import { ensureShipNet } from './net-ship.js';
import { BRIDGE, INSTANCE_INIT, LAUNCHER, STEP_INIT } from './scripts.js';
import type { SandboxLimits } from './settings.js';
import type { SandboxUser } from './user.js';
import { freshDir, removeServiceTree, volumesDir, type Volume } from './volumes.js';
import { posixShellQuote } from '../../util/shell-quote.js';

/** How a sandbox's network namespace reaches the world: the direct path (root) or not at all (the bridge socket). */
export type SandboxNet = 'direct' | 'none';

/** What this ship can give a sandbox: who it runs as, which cgroups, which network path. */
export interface SandboxHost {
  /** The ship-wide sandbox user: container bases, and every sandbox of a ship that is not root (it is the ship). */
  readonly user: SandboxUser;
  /** Whether to switch to the user (the ship is root) or run as the ship (it is not). */
  readonly switchUser: boolean;
  readonly cgroups: 1 | 2 | null;
  /**
   * direct: a veth on the ship's bridge, an address of its own, outbound NATed by the ship's nftables table (root).
   * none: only its own loopback; a routed instance is reached through the bridge socket (a ship that is not root).
   */
  readonly net: SandboxNet;
}

export interface Mount {
  readonly src: string;
  readonly dest: string;
  readonly rw: boolean;
}

/** port: a routed instance's PORT (DNATed to its loopback on the direct path, relayed on the fallback); null: unrouted. */
export type SandboxInit = { readonly kind: 'instance'; readonly script: string; readonly port: number | null } | { readonly kind: 'step'; readonly argv: readonly string[] };

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
  /** Who it runs as: the service's own uid (service-users.ts); the ship-wide user when not given. */
  readonly user?: SandboxUser;
  /** Its process title after `starphleet: ` (`<service> web.1 <release>`): what `ps` shows, not the bwrap argv. */
  readonly title?: string;
  /** The service's volume: its /tmp and /var/tmp are a fresh dir there (bounded by STARPHLEET_DISK), gone with the run. */
  readonly volume?: Volume;
}

export interface PreparedSandbox {
  readonly file: string;
  readonly args: string[];
  /** The launcher's argv[0]: its short process title. */
  readonly argv0: string;
  /** The launcher's env: the ship's minimal one, never the service's. */
  readonly env: Record<string, string>;
  readonly cgroup: Cgroup | null;
  /** Its address on the ship's bridge (direct path), where the data plane reaches it at address:PORT. */
  readonly address: string | null;
}

/**
 * Where the ship keeps a sandbox's launcher files (root-only: nothing in it is mounted writable into the sandbox);
 * on the fallback path its `sock/` dir holds an instance's bridge socket. Named by a short hash of the id, not the id
 * itself: a unix socket path has at most 107 bytes, and release ids are long.
 */
export function sandboxRunDir(dataDir: string, id: string): string {
  return join(dataDir, 'sandbox', createHash('sha256').update(id).digest('hex').slice(0, 16));
}

/** sun_path holds 108 bytes with the terminating NUL. */
const MAX_SOCKET_PATH = 107;

/** The unix socket the front door dials for an instance on the fallback path (a ship that is not root). */
export function instanceSocket(dataDir: string, id: string): string {
  const path = join(sandboxRunDir(dataDir, id), 'sock', 'http.sock');
  if (Buffer.byteLength(path) > MAX_SOCKET_PATH) {
    throw new Error(`data dir ${dataDir} is too long for the instances' unix sockets (${path} has ${Buffer.byteLength(path)} bytes, at most ${MAX_SOCKET_PATH}): use a shorter --data path`);
  }
  return path;
}

/** An instance's address on the direct path, as its run dir recorded it; null on the fallback path. */
export function instanceAddress(dataDir: string, id: string): string | null {
  try {
    const a = readFileSync(join(sandboxRunDir(dataDir, id), 'address'), 'utf8').trim();
    return /^\d+\.\d+\.\d+\.\d+$/.test(a) ? a : null;
  } catch {
    return null;
  }
}

const LAUNCHER_ENV = { ...TOOL_ENV };
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

function argsFile(args: readonly string[]): string {
  for (const a of args) if (a.includes('\0')) throw new Error(`a sandbox argument holds a NUL byte: ${JSON.stringify(a)}`);
  return args.map((a) => `${a}\0`).join('');
}

/**
 * Writes the run dir (root's, 0711: the sandbox's uid passes through to the /etc files bound from it and reads nothing
 * else; env, args and settings 0600), leases the address and creates the cgroup, and returns what to spawn: `bash
 * <run>/launch` titled `starphleet: <title>`. Nothing of the service's env is in the argv or env returned (argv is
 * world-readable in /proc), and nothing the launcher reads can be written by the sandbox.
 */
export function prepareSandbox(host: SandboxHost, run: SandboxRun): PreparedSandbox {
  const dir = sandboxRunDir(run.dataDir, run.id);
  removeRunDir(run.dataDir, run.id);
  mkdirSync(dir, { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
  const user = run.user ?? host.user;
  const write = (name: string, content: string, mode = 0o600): void => writeFileSync(join(dir, name), content, { mode });
  write('env', envFile(run.env));
  write('id', run.id);
  const conf: Record<string, string> = { net: host.net, veth: '', bridge: '', addr: '', prefix: '', gw: '', port: '' };
  let view: SandboxNetView = { kind: 'none' };
  let address: string | null = null;
  if (host.net === 'direct') {
    const net = ensureShipNet(run.dataDir);
    address = leaseAddress(run.dataDir, net, run.id);
    write('address', address, 0o644);
    view = { kind: 'direct', gateway: net.gateway, dnsLoopback: net.dnsLoopback };
    Object.assign(conf, { veth: vethName(run.dataDir, run.id), bridge: net.bridge, addr: address, prefix: String(net.subnet.prefix), gw: net.gateway });
    if (run.init.kind === 'instance' && run.init.port !== null) conf.port = String(run.init.port);
  }
  const args = ['--unshare-all', '--cap-drop', 'ALL', '--as-pid-1', '--hostname', run.hostname];
  if (run.init.kind === 'step') args.push('--die-with-parent');
  const etc = sandboxEtc(view, user, run.hostname);
  args.push(...systemMounts(etcMounts(Object.keys(etc), hiddenPlaceholders(join(run.dataDir, 'sandbox')))));
  for (const [name, content] of Object.entries(etc)) {
    write(`etc-${name}`, content, 0o644);
    args.push('--ro-bind', join(dir, `etc-${name}`), `/etc/${name}`);
  }
  for (const f of ['env', 'init', 'command', 'bridge.js'].map((n, i) => ['--ro-bind-data', String(5 + i), `/run/starphleet/${n}`])) args.push(...f);
  if (run.volume) {
    const tmp = freshDir(host, run.volume.tmp, basename(dir), user);
    write('tmpdir', tmp);
    args.push('--bind', tmp, '/tmp', '--bind', tmp, '/var/tmp');
  }
  for (const m of run.mounts) args.push(m.rw ? '--bind' : '--ro-bind', m.src, m.dest);
  const relay = run.init.kind === 'instance' && run.init.port !== null && host.net === 'none';
  let tail: string[];
  if (run.init.kind === 'instance') {
    write('init', INSTANCE_INIT);
    write('command', run.init.script);
    if (relay) {
      const sock = join(dir, 'sock');
      mkdirSync(sock, { mode: 0o750 });
      if (host.switchUser) chownSync(sock, user.uid, user.gid);
      args.push('--bind', sock, SOCK_DIR);
    }
    tail = ['bash', '/run/starphleet/init', relay ? `${SOCK_DIR}/http.sock` : ''];
  } else {
    write('init', STEP_INIT);
    write('command', '');
    tail = ['bash', '/run/starphleet/init', ...run.init.argv];
  }
  write('bridge.js', relay ? BRIDGE : '');
  args.push('--chdir', run.chdir);
  write('args', argsFile(args));
  write('tail', argsFile(tail));
  let cgroup: Cgroup | null = null;
  if (host.cgroups !== null) {
    sweepEmptyCgroups(run.dataDir);
    cgroup = createCgroup(run.dataDir, run.id, run.limits);
    write('cgroup.json', JSON.stringify(cgroup));
  }
  Object.assign(conf, { procs: cgroup ? procsFiles(cgroup).join(':') : '', uid: host.switchUser ? String(user.uid) : '-', gid: host.switchUser ? String(user.gid) : '-' });
  write('launch.conf', Object.entries(conf).map(([k, v]) => `${k}=${posixShellQuote(v)}\n`).join(''));
  write('launch', LAUNCHER, 0o700);
  return {
    file: 'bash',
    args: [join(dir, 'launch')],
    argv0: `starphleet: ${(run.title ?? `${run.hostname} ${run.id}`).replace(/[^\x20-\x7e]/g, '?')}`,
    env: { ...LAUNCHER_ENV },
    cgroup,
    address,
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

/**
 * The run dir removed, the address it leased freed (the veth went with the sandbox's namespace) and its /tmp on the
 * service's volume removed (only once nothing runs in it: every caller calls this after the sandbox ended).
 */
export function removeRunDir(dataDir: string, id: string): void {
  const dir = sandboxRunDir(dataDir, id);
  const address = instanceAddress(dataDir, id);
  if (address !== null) freeLease(dataDir, address, id);
  try {
    const tmp = readFileSync(join(dir, 'tmpdir'), 'utf8');
    if (tmp.startsWith(`${volumesDir(dataDir)}/`)) removeServiceTree(tmp);
  } catch {
    // No /tmp of its own on a volume.
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Gives a sandbox's uid (the ship-wide user when not given) a tree it must write (a build dir, a cache); never follows
 * symlinks. Only on a tree no process of that uid runs in (before its step), so nothing changes it under the walk.
 */
export function handTo(host: SandboxHost, path: string, to: SandboxUser = host.user): void {
  if (!host.switchUser) return;
  const walk = (p: string): void => {
    const st = lstatSync(p);
    if (st.uid !== to.uid || st.gid !== to.gid) lchownSync(p, to.uid, to.gid);
    if (st.isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
  };
  walk(path);
}

/** Whether a sandbox starts here at all: bwrap as the sandbox user with every namespace, and the direct path's tools; the reason when not. */
export function probeSandbox(host: SandboxHost): string | null {
  const drop = host.switchUser ? ['setpriv', `--reuid=${host.user.uid}`, `--regid=${host.user.gid}`, '--clear-groups', '--inh-caps=-all', '--bounding-set=-all', '--'] : [];
  // /etc whole: the probe runs `true`, nothing that reads it (each start hides what it must, etcMounts).
  const argv = [...drop, 'bwrap', '--unshare-all', '--cap-drop', 'ALL', '--as-pid-1', ...systemMounts(['--ro-bind', '/etc', '/etc']), '--', 'true'];
  const r = spawnSync(argv[0] as string, argv.slice(1), { env: LAUNCHER_ENV, encoding: 'utf8', timeout: 20_000 });
  if (r.error) return `${argv[0]}: ${r.error.message}`;
  if (r.status !== 0) return `bwrap with user, pid, net, ipc and uts namespaces failed as ${host.user.name}: ${(r.stderr || `exit ${r.status}`).trim()}`;
  if (host.net === 'direct') {
    for (const [tool, pkg] of [['nft', 'nftables'], ['ip', 'iproute2'], ['bridge', 'iproute2'], ['nsenter', 'util-linux']] as const) {
      if (!installedTool(tool)) return `${tool} is not installed (Debian package ${pkg}): a ship run as root needs it for the instances' network`;
    }
  }
  return null;
}

/** The host as it is: the sandbox user, the cgroup version, and the direct network path when the ship is root. */
export function describeHost(user: SandboxUser): SandboxHost {
  const root = process.getuid?.() === 0;
  return { user, switchUser: root, cgroups: root ? cgroupVersion() : null, net: root ? 'direct' : 'none' };
}
