import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, renameSync, rmdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { USER_NAME } from '../agent/sandbox/sandbox-user.js';
import { writeLauncher } from '../update/versions.js';
import { PACKAGE_ROOT } from '../version.js';
import { createSystemUser, removeSystemUser, userExists } from './system-user.js';
import { renderUnit } from './unit.js';

export const UNIT_NAME = 'starphleet.service';
const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
const ETC = '/etc/starphleet';
const ENV_FILE = `${ETC}/ship.env`;
const MANIFEST = `${ETC}/install.json`;

import { InstallError } from './install-error.js';

export { InstallError };

export interface InstallOptions {
  readonly sandboxUser: string;
  readonly dataDir: string;
  readonly headquarters?: string;
  readonly httpPort: string;
  readonly sshPort: string;
  /** Everything is written under this directory (default `/`): for packaging and tests. */
  readonly root: string;
}

/** What install made, so uninstall removes exactly that (and never a user or data dir that was there before). */
interface Manifest {
  readonly unit: string;
  readonly envFile: string;
  readonly dataDir: string;
  readonly sandboxUser: string;
  readonly createdUser: boolean;
  readonly createdDataDir: boolean;
}

function check(o: InstallOptions): void {
  if (!USER_NAME.test(o.sandboxUser)) throw new InstallError(`--sandbox-user ${JSON.stringify(o.sandboxUser)}: not a user name (lower case letters, digits, _ and -, at most 32)`);
  if (!isAbsolute(o.dataDir) || resolve(o.dataDir) === '/') throw new InstallError(`--data ${JSON.stringify(o.dataDir)}: needs an absolute path other than /`);
  if (o.sandboxUser === 'root') throw new InstallError('--sandbox-user root: the sandbox user must be unprivileged');
  for (const [flag, v] of [['--http-port', o.httpPort], ['--ssh-port', o.sshPort]] as const) {
    if (!/^\d{1,5}$/.test(v) || Number(v) < 1 || Number(v) > 65535) throw new InstallError(`${flag} ${JSON.stringify(v)}: needs a port number (1-65535)`);
  }
  // eslint-disable-next-line no-control-regex
  if (o.headquarters !== undefined && (o.headquarters === '' || /[\s"'\\\x00-\x1f]/.test(o.headquarters))) {
    throw new InstallError(`--headquarters ${JSON.stringify(o.headquarters)}: needs a git url or path without spaces or quotes`);
  }
  if (!existsSync(o.root)) throw new InstallError(`--root ${o.root}: no such directory`);
  if (o.root === '/' && process.getuid?.() !== 0) throw new InstallError('install needs root (it creates a user and a systemd unit); or pass --root DIR to write the files under DIR');
}

const under = (root: string, path: string): string => join(root, path);

/** The env file admins edit; install writes it once and after that only sets STARPHLEET_HEADQUARTERS when given. */
function writeEnvFile(path: string, headquarters: string | undefined): void {
  const hqLine = headquarters !== undefined ? `STARPHLEET_HEADQUARTERS=${headquarters}` : '#STARPHLEET_HEADQUARTERS=https://github.com/you/headquarters.git';
  if (existsSync(path)) {
    if (headquarters === undefined) return;
    const lines = readFileSync(path, 'utf8').split('\n');
    const i = lines.findIndex((l) => /^#?STARPHLEET_HEADQUARTERS=/.test(l));
    if (i >= 0) lines[i] = hqLine;
    else lines.unshift(hqLine);
    writeFileSync(path, lines.join('\n'));
    return;
  }
  writeFileSync(
    path,
    `# Settings of the starphleet ship (systemd EnvironmentFile: NAME=value lines). After a change:
#   systemctl restart starphleet
${hqLine}
# Where \`ssh update@ship\` gets new starphleet (url#branch); HQ .starphleet may set it too.
#STARPHLEET_REMOTE=https://github.com/starphleet/starphleet.git#main
# Key for git over ssh (HQ and service repos).
#STARPHLEET_PRIVATE_KEY=/root/.ssh/id_ed25519
#STARPHLEET_PULSE=5
`,
    { mode: 0o600 },
  );
}

/** versions/current -> this package, so the launcher runs what was installed; the one it replaces becomes previous. */
function pointCurrent(dataDirOnDisk: string): void {
  const versions = join(dataDirOnDisk, 'versions');
  mkdirSync(versions, { recursive: true, mode: 0o755 });
  const target = PACKAGE_ROOT.replace(/\/$/, '');
  const current = join(versions, 'current');
  let old: string | null = null;
  try {
    if (lstatSync(current).isSymbolicLink()) old = readlinkSync(current);
  } catch {
    old = null;
  }
  if (old !== null && resolve(versions, old) !== target) {
    rmSync(join(versions, 'previous'), { force: true });
    symlinkSync(old, join(versions, 'previous'));
  }
  const tmp = `${current}.tmp-${process.pid}`;
  rmSync(tmp, { force: true });
  symlinkSync(target, tmp);
  renameSync(tmp, current);
}

/** `starphleet install`: the sandbox user, the data dir, the launcher, the env file and the unit. Returns what to tell. */
export function install(o: InstallOptions): string {
  check(o);
  const root = resolve(o.root);
  const dataDir = resolve(o.dataDir);
  const out: string[] = [];
  // With --root every path is said where it is written (under DIR), and the user is DIR's, not this machine's.
  const at = (path: string): string => (root === '/' ? path : join(root, path));
  const users = root === '/' ? '' : ` in ${join(root, 'etc', 'passwd')} only (this machine's users are not touched)`;
  if (root !== '/') out.push(`writing under ${root}: the paths below are where the files are now; the unit names them as they will be once ${root} is the root of the machine it is for`);
  const createdUser = !userExists(root, o.sandboxUser);
  if (createdUser) {
    if (root !== '/' && !existsSync(join(root, 'etc', 'passwd'))) throw new InstallError(`--root ${root}: no etc/passwd there to add the sandbox user to`);
    createSystemUser(root, o.sandboxUser);
    out.push(`created system user ${o.sandboxUser}${users} (builds and instances run as it)`);
  } else out.push(`system user ${o.sandboxUser} exists${users}: kept`);
  const dataOnDisk = under(root, dataDir);
  const createdDataDir = !existsSync(dataOnDisk);
  // Traversable (not readable) by others: the sandbox user reaches its release and /var/data through it.
  mkdirSync(dataOnDisk, { recursive: true, mode: 0o711 });
  out.push(`${createdDataDir ? 'created' : 'kept'} data dir ${at(dataDir)}`);
  pointCurrent(dataOnDisk);
  writeLauncher(dataDir, root);
  out.push(`launcher ${at(join(dataDir, 'bin', 'ship'))} runs ${join(dataDir, 'versions', 'current')} -> ${PACKAGE_ROOT.replace(/\/$/, '')}`);
  mkdirSync(under(root, ETC), { recursive: true, mode: 0o755 });
  writeEnvFile(under(root, ENV_FILE), o.headquarters);
  out.push(`settings in ${at(ENV_FILE)}`);
  const unit = renderUnit({
    dataDir,
    sandboxUser: o.sandboxUser,
    shipArgs: ['--http-port', o.httpPort, '--ssh-port', o.sshPort],
    envFile: ENV_FILE,
    docs: `file://${join(PACKAGE_ROOT, 'docs', 'operations.md')}`,
  });
  mkdirSync(dirname(under(root, UNIT_PATH)), { recursive: true, mode: 0o755 });
  writeFileSync(under(root, UNIT_PATH), unit, { mode: 0o644 });
  out.push(`systemd unit ${at(UNIT_PATH)}`);
  // A re-install keeps what the first one created as created: uninstall must still remove it.
  const before = readManifest(root);
  const manifest: Manifest = {
    unit: UNIT_PATH,
    envFile: ENV_FILE,
    dataDir,
    sandboxUser: o.sandboxUser,
    createdUser: createdUser || (before?.sandboxUser === o.sandboxUser && before.createdUser),
    createdDataDir: createdDataDir || (before?.dataDir === dataDir && before.createdDataDir),
  };
  writeFileSync(under(root, MANIFEST), `${JSON.stringify(manifest, null, 2)}\n`);
  const hq = o.headquarters ?? (readFileSync(under(root, ENV_FILE), 'utf8').match(/^STARPHLEET_HEADQUARTERS=(.+)$/m)?.[1] ?? null);
  if (hq === null) out.push('', `set STARPHLEET_HEADQUARTERS in ${at(ENV_FILE)} (or install again with --headquarters URL) before you start it.`);
  const when = root === '/' ? 'start it now and at every boot' : `on the machine ${root} is for, start it and at every boot`;
  out.push('', `${when}, then follow its log:`, `  systemctl enable --now ${UNIT_NAME}`, `  journalctl -u ${UNIT_NAME} -f`);
  return `${out.join('\n')}\n`;
}

function readManifest(root: string): Manifest | null {
  try {
    return JSON.parse(readFileSync(under(root, MANIFEST), 'utf8')) as Manifest;
  } catch {
    return null;
  }
}

/** Where the installed ship keeps its data (for stop --all and the docs), when install wrote a manifest. */
export function installedDataDir(root = '/'): string | null {
  return readManifest(root)?.dataDir ?? null;
}

export interface UninstallOptions {
  readonly root: string;
  /** Also delete the data dir (releases, state, HQ checkout, host keys): only when asked. */
  readonly removeData: boolean;
}

/**
 * `starphleet uninstall`: the unit, the env file and the manifest, the sandbox user if install created it; the data
 * dir only with --remove-data. The caller stops the ship and its instances first (cli.ts: systemctl, stop --all).
 */
export function uninstall(o: UninstallOptions): string {
  const root = resolve(o.root);
  if (root === '/' && process.getuid?.() !== 0) throw new InstallError('uninstall needs root; or pass --root DIR');
  const m = readManifest(root);
  if (!m) throw new InstallError(`nothing to uninstall: no ${under(root, MANIFEST)} (written by starphleet install)`);
  const out: string[] = [];
  const at = (path: string): string => (root === '/' ? path : join(root, path));
  rmSync(under(root, m.unit), { force: true });
  out.push(`removed ${at(m.unit)}`);
  rmSync(under(root, m.envFile), { force: true });
  rmSync(under(root, MANIFEST), { force: true });
  try {
    rmdirSync(under(root, ETC)); // only when empty: an admin's own files there stay
  } catch {
    // not empty, or gone
  }
  out.push(`removed ${at(m.envFile)}`);
  if (m.createdUser) {
    removeSystemUser(root, m.sandboxUser);
    out.push(`removed system user ${m.sandboxUser}${root === '/' ? '' : ` from ${join(root, 'etc', 'passwd')}`}`);
  }
  if (o.removeData) {
    rmSync(under(root, m.dataDir), { recursive: true, force: true });
    out.push(`removed data dir ${at(m.dataDir)}`);
  } else out.push(`kept data dir ${at(m.dataDir)} (uninstall --remove-data deletes it)`);
  return `${out.join('\n')}\n`;
}
