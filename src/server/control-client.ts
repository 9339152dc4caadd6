import { connect } from 'node:net';
import { controlSocketPath, type ControlMessage } from './control-socket.js';
import { SESSION_ENV } from './session-tokens.js';

/**
 * Runs a ship command through the control socket and relays what it prints; resolves with its exit code (1 when the
 * ship could not be reached or the connection broke). Aborting closes the socket, which aborts the command.
 */
export function callShip(dataDir: string, argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void; signal?: AbortSignal }): Promise<number> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolve) => {
    const sock = connect(path);
    let buf = '';
    let exit: number | null = null;
    const stop = (): void => {
      sock.destroy();
    };
    if (io.signal?.aborted) stop();
    io.signal?.addEventListener('abort', stop, { once: true });
    // Inside an admiral's SSH session: the token that tells the ship which admiral asked.
    const session = process.env[SESSION_ENV];
    sock.on('connect', () => sock.write(`${JSON.stringify({ argv, ...(session ? { session } : {}) })}\n`));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, nl)) as ControlMessage;
        buf = buf.slice(nl + 1);
        if ('out' in m) io.out(m.out);
        else if ('err' in m) io.err(m.err);
        else exit = m.exit;
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no ship is running with data dir ${dataDir} (no control socket at ${path})` : e.message;
      if (!io.signal?.aborted) io.err(`starphleet: ${why}\n`);
    });
    sock.on('close', () => {
      io.signal?.removeEventListener('abort', stop);
      resolve(exit ?? 1);
    });
  });
}
