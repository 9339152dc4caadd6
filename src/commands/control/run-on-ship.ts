import { callShip } from './control-client.js';

/**
 * Runs a ship command on the running ship through its control socket; resolves with the exit code. Ctrl-C, or the
 * optional signal (an SSH session that went away), aborts it.
 */
export async function runOnShip(dataDir: string, argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream, signal?: AbortSignal): Promise<number> {
  const abort = new AbortController();
  const stop = (): void => abort.abort();
  process.once('SIGINT', stop);
  signal?.addEventListener('abort', stop, { once: true });
  if (signal?.aborted) stop();
  try {
    return await callShip(dataDir, argv, { out: (s) => out.write(s), err: (s) => err.write(s), signal: abort.signal });
  } finally {
    process.removeListener('SIGINT', stop);
    signal?.removeEventListener('abort', stop);
  }
}
