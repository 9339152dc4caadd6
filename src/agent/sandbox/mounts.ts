import { lstatSync, readdirSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';

/** What of the host's system a sandbox sees, read-only: the programs and libraries, and /etc without its secrets. */
const SYSTEM_DIRS = new Set(['usr', 'bin', 'sbin', 'lib', 'lib32', 'lib64', 'libx32']);

/**
 * /etc entries a service has no business reading (password hashes, sudo rules, the host's SSH keys, the ship's own
 * settings, the host's accounts), plus the files the sandbox gets its own copy of (etc-files.ts).
 */
const ETC_HIDDEN = /^(g?shadow-?|sudoers.*|ssh|starphleet.*|\.pwd\.lock|security|resolv\.conf|hostname|hosts|passwd-?|group-?|subuid-?|subgid-?)$/;

function entryArgs(path: string, hidden: (name: string) => boolean, onlySystem: boolean): string[] {
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
    if (st.isSymbolicLink()) args.push('--symlink', readlinkSync(full), full);
    else if (st.isDirectory() || st.isFile()) args.push('--ro-bind', full, full);
  }
  return args;
}

let cached: string[] | null = null;

/** bwrap arguments for the read-only system part of every sandbox (computed once: the host's / does not move). */
export function systemMounts(): string[] {
  if (!cached) {
    cached = [
      ...entryArgs('/', () => false, true),
      '--dir', '/etc',
      ...entryArgs('/etc', (n) => ETC_HIDDEN.test(n), false),
      '--proc', '/proc',
      '--dev', '/dev',
      '--tmpfs', '/tmp',
      '--tmpfs', '/var/tmp',
    ];
  }
  return cached;
}
