import { chmodSync, chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, rmdirSync, rmSync, statSync, symlinkSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { checkServiceName, dataPaths } from '../../data-dir/data-paths.js';
import { hostCmd, tryHostCmd } from './host-cmd.js';
import { mountsUnder, unmountUnder } from './host-registry.js';
import { withLockDir } from './lock-dir.js';
import type { SandboxHost } from './sandbox.js';
import type { SandboxUser } from './user.js';

/**
 * A service's writable space: one ext4 file system per service in a sparse image (<data>/volumes/<name>.img, as
 * large as STARPHLEET_DISK), loop-mounted at <data>/volumes/<name>/ while the ship runs. Its /var/data share, the
 * /tmp of each of its sandboxes, its build dirs and its build cache all live there, so at its limit a service gets
 * ENOSPC from its own file system while the ship's state db, logs and every other service write on as before.
 * (Why images and not quotas: docs/notes.md; this kernel has no CONFIG_QUOTA, and tmpfs would count against memory.)
 * Layout, root's except where a uid is named: root (root:<service gid> 0710) / data (service, 0700: /var/data),
 * cache (service, 0700), tmp (0711) / <run> (service, 0700: one sandbox's /tmp), build (0711) / <work> / app, home.
 * A ship that is not root has no images: the same dirs, unbounded.
 */
export interface Volume {
  readonly root: string;
  readonly data: string;
  readonly cache: string;
  readonly tmp: string;
  readonly build: string;
}

export function volumesDir(dataDir: string): string {
  return join(dataDir, 'volumes');
}

export function volumeOf(dataDir: string, service: string): Volume {
  const root = join(volumesDir(dataDir), checkServiceName(service));
  return { root, data: join(root, 'data'), cache: join(root, 'cache'), tmp: join(root, 'tmp'), build: join(root, 'build') };
}

/** What the sandbox sees of the ship's shared tree (data orders, read-only), and where /var/data's links lead. */
export const SHARED_DATA_MOUNT = '/run/starphleet/data';

const MOUNT_OPTIONS = 'loop,nosuid,nodev,noatime,discard';

function isMounted(root: string): boolean {
  return mountsUnder(root).includes(root);
}

function imageSize(img: string): number {
  return statSync(img).size;
}

function setSize(img: string, bytes: number): void {
  const fd = openSync(img, 'r+');
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** The loop device an image is attached to (`losetup -j`), or null. */
function loopOf(img: string): string | null {
  const m = /^(\/dev\/loop\d+):/m.exec(hostCmd('losetup', ['-j', img]));
  return m ? (m[1] as string) : null;
}

function makeImage(img: string, bytes: number): void {
  const fd = openSync(img, 'wx', 0o600);
  try {
    ftruncateSync(fd, bytes);
  } finally {
    closeSync(fd);
  }
  // -m 0: no blocks kept for root (the ship writes the build's source here too: it gets ENOSPC like the service);
  // a 4 MiB journal: the default 64 MiB would be a real 64 MiB of the host's disk per service.
  hostCmd('mkfs.ext4', ['-q', '-F', '-m', '0', '-J', 'size=4', '-E', 'root_owner=0:0', img]);
}

/** An unmounted image brought to its size: grown, or shrunk when its files fit (else it keeps its size, said in log). */
function resizeOffline(img: string, bytes: number, log: (l: string) => void): void {
  const now = imageSize(img);
  if (now === bytes) return;
  tryHostCmd('e2fsck', ['-f', '-y', '-q', img]);
  if (bytes > now) {
    setSize(img, bytes);
    hostCmd('resize2fs', ['-f', img]);
    return;
  }
  if (tryHostCmd('resize2fs', [img, `${Math.floor(bytes / 1024)}K`])) setSize(img, bytes);
  else log(`${img}: the files in it do not fit in the smaller STARPHLEET_DISK (${bytes} bytes): it keeps ${now} bytes`);
}

function own(path: string, mode: number, uid: number, gid: number): void {
  if (!existsSync(path)) mkdirSync(path, { mode });
  const st = lstatSync(path);
  if (!st.isDirectory()) throw new Error(`${path} is not a directory`);
  if (st.uid !== uid || st.gid !== gid) chownSync(path, uid, gid);
  if ((st.mode & 0o7777) !== mode) chmodSync(path, mode);
}

/** Held while a volume is attached, resized or removed (two ship processes during a hand-over). */
function volumeLock(dataDir: string, service: string): string {
  return join(volumesDir(dataDir), `.lock-${createHash('sha256').update(service).digest('hex').slice(0, 12)}`);
}

/**
 * The service's volume, made, sized and mounted when needed (idempotent, cheap when it is mounted at its size). A
 * larger STARPHLEET_DISK grows it at once (online); a smaller one applies when it is next mounted (after `starphleet
 * stop --all` or a reboot), since ext4 cannot shrink while mounted.
 */
export function ensureVolume(host: SandboxHost, dataDir: string, service: string, diskBytes: number, user: SandboxUser, log: (l: string) => void = () => {}): Volume {
  const v = volumeOf(dataDir, service);
  mkdirSync(volumesDir(dataDir), { recursive: true, mode: 0o711 });
  if (!host.switchUser) {
    for (const d of [v.root, v.data, v.cache, v.tmp, v.build]) mkdirSync(d, { recursive: true, mode: 0o700 });
    return v;
  }
  chmodSync(volumesDir(dataDir), 0o711);
  withLockDir(volumeLock(dataDir, service), () => {
    const img = `${v.root}.img`;
    if (!isMounted(v.root)) {
      if (!existsSync(img)) makeImage(img, diskBytes);
      else resizeOffline(img, diskBytes, log);
      own(v.root, 0o700, 0, 0);
      hostCmd('mount', ['-o', MOUNT_OPTIONS, img, v.root]);
    } else if (imageSize(img) < diskBytes) {
      setSize(img, diskBytes);
      const dev = loopOf(img);
      if (dev) {
        hostCmd('losetup', ['-c', dev]);
        hostCmd('resize2fs', [dev]);
        log(`${service}: volume grown to ${diskBytes} bytes (STARPHLEET_DISK)`);
      }
    }
  });
  own(v.root, 0o710, 0, user.gid);
  own(v.data, 0o700, user.uid, user.gid);
  own(v.cache, 0o700, user.uid, user.gid);
  own(v.tmp, 0o711, 0, 0);
  own(v.build, 0o711, 0, 0);
  return v;
}

/**
 * Removes a service's volume once nothing of it runs (a preview that is gone): unmounted (lazily: the loop device goes
 * when the last holder does), then its mount point and its image. Nothing the service wrote is followed: rm walks by
 * descriptor and stays on one file system. A ship that is not root has the same dirs without an image.
 */
export function removeVolume(dataDir: string, service: string): void {
  const v = volumeOf(dataDir, service);
  const img = `${v.root}.img`;
  if (!existsSync(v.root) && !existsSync(img)) return;
  withLockDir(volumeLock(dataDir, service), () => {
    unmountUnder(v.root);
    removeServiceTree(v.root);
    rmSync(img, { force: true });
  });
}

/** A fresh dir of the volume for one sandbox (its /tmp, a build's work), the service's own. */
export function freshDir(host: SandboxHost, parent: string, name: string, user: SandboxUser): string {
  const dir = join(parent, name);
  removeServiceTree(dir);
  mkdirSync(dir, { mode: 0o700 });
  if (host.switchUser) chownSync(dir, user.uid, user.gid);
  return dir;
}

/**
 * Removes a tree a service wrote, once nothing of that service runs in it: GNU rm walks it by file descriptor and
 * never follows a symlink, and --one-file-system keeps it on the volume whatever was mounted there.
 */
export function removeServiceTree(path: string): void {
  if (!existsSync(path)) return;
  // Most such trees are empty by the time they go (an instance's /tmp): rmdir removes only an empty directory and
  // never follows a link, so rm (a spawn from the ship, the cost that counts here) runs only for a tree with content.
  try {
    rmdirSync(path);
    return;
  } catch {
    // Not empty, not a directory, or gone meanwhile: rm decides.
  }
  hostCmd('rm', ['-rf', '--one-file-system', '--', path]);
}

/**
 * /var/data/<name> of the service -> /run/starphleet/data/<name> (the ship's data orders, read-only in every sandbox)
 * for each data order of the ship's tree, where the service has nothing of its own by that name. symlink(2) never
 * replaces or follows what is there; the dir it works in is reached through root's dirs only.
 */
export function linkSharedData(dataDir: string, v: Volume): void {
  let names: string[];
  try {
    names = readdirSync(dataPaths.shared(dataDir));
  } catch {
    return;
  }
  for (const name of names) {
    if (name.startsWith('.')) continue;
    try {
      if (lstatSync(join(dataPaths.shared(dataDir), name)).uid !== 0) continue;
      symlinkSync(`${SHARED_DATA_MOUNT}/${name}`, join(v.data, name));
    } catch {
      // The service has its own /var/data/<name>, or the volume is gone: nothing to link.
    }
  }
}

/** Every mounted volume of the ship (data orders link into each after a sync). */
export function mountedVolumes(dataDir: string): Volume[] {
  let names: string[];
  try {
    names = readdirSync(volumesDir(dataDir));
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.') && !n.endsWith('.img')).map((n) => volumeOf(dataDir, n)).filter((v) => existsSync(v.data));
}
