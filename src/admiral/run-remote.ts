import { findRemote, formatTarget, type Remote } from './remotes.js';
import { shellQuote } from './shell-quote.js';
import { destination, hostKeyRefusal, pinOptions, spawnSsh, teeStderr, waitChild } from './ssh-client.js';

/**
 * `starphleet -s <ship> <argv...>`: runs `starphleet <argv...>` on the ship over the user's ssh with the pinned host
 * key. Output streams straight through (stdout is ssh's own); the result is the remote exit code (ssh's 255 when the
 * connection failed), with a clear message when the host key was refused.
 */
export async function runRemote(configDir: string, remote: Remote, argv: readonly string[], err: (s: string) => void): Promise<number> {
  // The ship's admiral sessions run the command line in bash with the ship's own CLI first on PATH.
  const command = ['starphleet', ...argv].map(shellQuote).join(' ');
  const child = spawnSsh([...pinOptions(configDir, remote), ...destination(remote), command], ['inherit', 'inherit', 'pipe']);
  const tail = teeStderr(child, err);
  const code = await waitChild(child);
  if (code === 255) {
    const refusal = hostKeyRefusal(tail(), remote, formatTarget(remote));
    if (refusal) err(refusal);
  }
  return code;
}

export async function runOnTarget(configDir: string, name: string, argv: readonly string[], err: (s: string) => void): Promise<number> {
  return runRemote(configDir, findRemote(configDir, name), argv, err);
}
