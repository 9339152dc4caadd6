import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { join } from 'node:path';

/** The ship's fixed env for the root-side tools it runs: never its own PATH or anything a service set. */
export const TOOL_ENV: Readonly<Record<string, string>> = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', LANG: 'C.UTF-8' };

export class HostCommandError extends Error {}

/** Runs a host tool (ip, nft, mount, mkfs...) to its end; throws with the command and its stderr when it fails. */
export function hostCmd(file: string, args: readonly string[], input?: string): string {
  const r = spawnSync(file, args, { env: TOOL_ENV, encoding: 'utf8', input, timeout: 30_000, stdio: ['pipe', 'pipe', 'pipe'] });
  if (r.error) throw new HostCommandError(`${file}: ${r.error.message}`);
  if (r.status !== 0) throw new HostCommandError(`${file} ${args.join(' ')}: ${(r.stderr || r.stdout || `exit ${r.status}`).trim()}`);
  return r.stdout;
}

/** Like hostCmd, for a step whose failure is expected now and then (removing what may be gone): true when it worked. */
export function tryHostCmd(file: string, args: readonly string[], input?: string): boolean {
  try {
    hostCmd(file, args, input);
    return true;
  } catch {
    return false;
  }
}

/**
 * Whether a host tool is installed: an executable file of that name in TOOL_ENV's PATH. Looked up, not run: a ship
 * start asked four tools for their version, a fork of the ship each.
 */
export function installedTool(name: string): boolean {
  return (TOOL_ENV.PATH ?? '').split(':').some((dir) => {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return statSync(path).isFile();
    } catch {
      return false;
    }
  });
}
