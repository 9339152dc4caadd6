import { visible, visibleStream } from '../util/terminal-safe.js';
import { findRemote, formatTarget, type Remote } from './remotes.js';
import { posixCommandLine } from '../util/shell-quote.js';
import { withPhleetProof } from './sign-request.js';
import { destination, hostKeyRefusal, pinOptions, spawnSsh, teeStderr, waitChild } from './ssh-client.js';

/**
 * Whether the remote command's output reaches this terminal as it is: `run` (the service's own terminal) and `--raw`
 * (the admiral asked for the bytes). Everything else is shown with its control characters made visible, here as on the
 * ship (src/util/terminal-safe.ts; doing it twice changes nothing), so a ship that is not what it should be cannot
 * drive the admiral's terminal either.
 */
function rawOutput(argv: readonly string[]): boolean {
  return argv[0] === 'run' || argv.includes('--raw');
}

/**
 * `starphleet -s <ship> <argv...>`: runs `starphleet <argv...>` on the ship over the user's ssh with the pinned host
 * key. Output streams through as it comes; the result is the remote exit code (ssh's 255 when the connection
 * failed), with a clear message when the host key was refused. `phleet logs|redeploy` get the admiral's signed request
 * (sign-request.ts), which the other ships ask for.
 */
export async function runRemote(configDir: string, remote: Remote, argv: readonly string[], err: (s: string) => void): Promise<number> {
  const args = await withPhleetProof(argv);
  // The ship's admiral sessions run the command line in bash with the ship's own CLI first on PATH.
  const command = posixCommandLine(['starphleet', ...args]);
  const raw = rawOutput(args);
  const child = spawnSsh([...pinOptions(configDir, remote), ...destination(remote), command], ['inherit', raw ? 'inherit' : 'pipe', 'pipe']);
  if (!raw) {
    const out = visibleStream();
    child.stdout?.on('data', (b: Buffer) => process.stdout.write(out.write(b)));
    child.stdout?.on('end', () => process.stdout.write(out.end()));
  }
  const tail = teeStderr(child, raw ? err : (s) => err(visible(s)));
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
