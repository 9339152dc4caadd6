import { isAbsolute, join } from 'node:path';
import { homedir } from 'node:os';

/**
 * `$XDG_CONFIG_HOME/starphleet` (or `~/.config/starphleet`): the admiral's side lives here, in plain text files.
 * A relative XDG_CONFIG_HOME is ignored, as the XDG base directory spec says.
 */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  const xdg = env.XDG_CONFIG_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(env.HOME && isAbsolute(env.HOME) ? env.HOME : homedir(), '.config');
  return join(base, 'starphleet');
}

/** `<config>/remotes`: one ship per line, `<name> admiral@<host>:<port> <host key fingerprint>`. */
export function remotesFile(dir: string): string {
  return join(dir, 'remotes');
}

/** `<config>/known_hosts`: the pinned host keys, one per remote under its HostKeyAlias; only `remote add` writes it. */
export function knownHostsFile(dir: string): string {
  return join(dir, 'known_hosts');
}
