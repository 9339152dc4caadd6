import { chmodSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** What of the host's system a sandbox sees, read-only: the programs and libraries, and /etc without its secrets. */
const SYSTEM_DIRS = new Set(['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']);

/**
 * /etc entries a service has no business reading (password hashes, sudo rules, the host's SSH keys, the ship's own
 * settings, the host's accounts, its name), plus the files the sandbox gets its own copy of (etc-files.ts).
 */
const ETC_HIDDEN = /^(g?shadow-?|sudoers.*|ssh|starphleet.*|\.pwd\.lock|security|resolv\.conf|hostname|hosts|passwd-?|group-?|subuid-?|subgid-?)$/;

function entryArgs(path: string, dest: string, hidden: (name: string) => boolean, onlySystem: boolean): string[] {
  const args: string[] = [];
  for (const name of readdirSync(path).sort()) {
    if (hidden(name)) continue;
    if (onlySystem && !SYSTEM_DIRS.has(name)) continue;
    const full = join(path, name);
    let st;
    try {
      st = lstatSync(full);
    } catch {
      continue;
    }
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(full), join(dest, name));
    else if (st.isDirectory() || st.isFile()) args.push('--ro-bind', full, join(dest, name));
  }
  return args;
}

/** An unreadable file and folder (mode 0, the ship's) bound over the /etc entries a sandbox must not read. */
export interface HiddenPlaceholders {
  readonly file: string;
  readonly dir: string;
}

/**
 * The placeholders in dir (the ship's own `<data>/sandbox`, which no sandbox can write), made once and made again if
 * anything changed them.
 */
export function hiddenPlaceholders(dir: string): HiddenPlaceholders {
  const file = join(dir, 'hidden-file');
  const folder = join(dir, 'hidden-dir');
  const uid = process.getuid?.() ?? 0;
  const ok = (p: string, isDir: boolean): boolean => {
    try {
      const st = lstatSync(p);
      return (isDir ? st.isDirectory() : st.isFile()) && (st.mode & 0o7777) === 0 && st.uid === uid && (isDir || st.size === 0);
    } catch {
      return false;
    }
  };
  if (!ok(file, false)) {
    rmSync(file, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    writeFileSync(file, '', { mode: 0 });
    chmodSync(file, 0);
  }
  if (!ok(folder, true)) {
    rmSync(folder, { recursive: true, force: true });
    mkdirSync(folder, { mode: 0 });
    chmodSync(folder, 0);
  }
  return { file, dir: folder };
}

/**
 * bwrap arguments for /etc: the host's, read-only, with its hidden entries unreadable and `own` (the sandbox's own
 * copies, bound by the caller) left to the caller.
 *
 * The whole /etc is one bind with a placeholder bound over each hidden entry (about 20 mounts) when that can be done:
 * every own name is a plain file there (a bind needs something to cover in a read-only /etc) and every hidden entry a
 * plain file or folder (a bind onto a symlink would follow it). bwrap reads the whole mount table after each bind,
 * so /etc entry by entry (160 binds here) cost a sandbox start 44 ms of CPU against 8 (this 2-core machine; a run of
 * the tests starts about a thousand). Otherwise /etc is built entry by entry, the hidden ones left out.
 * A hidden file reads as permission denied rather than absent; its content is not there either way.
 */
export function etcMounts(own: readonly string[], placeholders: HiddenPlaceholders | null, src = '/etc'): string[] {
  const ownSet = new Set(own);
  const names = readdirSync(src);
  if (placeholders !== null) {
    const cover: string[] = [];
    let whole = true;
    for (const name of [...ownSet]) {
      try {
        if (!lstatSync(join(src, name)).isFile()) whole = false;
      } catch {
        whole = false;
      }
    }
    for (const name of names.sort()) {
      if (!whole) break;
      if (!ETC_HIDDEN.test(name) || ownSet.has(name)) continue;
      let st;
      try {
        st = lstatSync(join(src, name));
      } catch {
        continue;
      }
      if (st.isFile()) cover.push('--ro-bind', placeholders.file, `/etc/${name}`);
      else if (st.isDirectory()) cover.push('--ro-bind', placeholders.dir, `/etc/${name}`);
      else whole = false;
    }
    if (whole) return ['--ro-bind', src, '/etc', ...cover];
  }
  return ['--dir', '/etc', ...entryArgs(src, '/etc', (n) => ETC_HIDDEN.test(n), false)];
}

let rootArgs: string[] | null = null;

/**
 * bwrap arguments for the read-only system part of every sandbox: the programs and libraries (computed once: the
 * host's / does not move), the given /etc (etcMounts, looked at on each start), /proc, /dev and an empty /tmp.
 */
export function systemMounts(etc: readonly string[]): string[] {
  rootArgs ??= entryArgs('/', '/', () => false, true);
  return [...rootArgs, ...etc, '--proc', '/proc', '--dev', '/dev', '--tmpfs', '/tmp', '--tmpfs', '/var/tmp'];
}
