import { connect, type Socket } from 'node:net';
import { controlSocketPath, SESSION_ENV, type ControlMessage, type ControlRequest } from './control-wire.js';

/**
 * The client side of the control socket's JSON-lines wire: one request line, then `{out}`, `{err}` and `{exit}` lines
 * until the ship closes. The one copy: the git pre-receive hook runs this function's own source (push-repo.ts), so
 * it uses nothing from outside its body (no import, no helper) and names no inner function.
 */
export function relayControl(sock: Socket, request: ControlRequest, io: { out: (s: string) => void; err: (s: string) => void }, done: (exit: number | null) => void): void {
  let buf = '';
  let exit: number | null = null;
  sock.on('connect', () => sock.write(`${JSON.stringify(request)}\n`));
  sock.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const m = JSON.parse(buf.slice(0, nl)) as ControlMessage;
      buf = buf.slice(nl + 1);
      if ('out' in m) io.out(m.out);
      else if ('err' in m) io.err(m.err);
      else if ('exit' in m) exit = m.exit;
    }
  });
  sock.on('close', () => done(exit));
}

/**
 * Runs a ship command through the control socket and relays what it prints; resolves with its exit code (1 when the
 * ship could not be reached or the connection broke). Aborting closes the socket, which aborts the command.
 */
export function callShip(dataDir: string, argv: readonly string[], io: { out: (s: string) => void; err: (s: string) => void; signal?: AbortSignal }): Promise<number> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolve) => {
    const sock = connect(path);
    const stop = (): void => {
      sock.destroy();
    };
    if (io.signal?.aborted) stop();
    io.signal?.addEventListener('abort', stop, { once: true });
    // Inside an admiral's SSH session: the token that tells the ship which admiral asked.
    const session = process.env[SESSION_ENV];
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no ship is running with data dir ${dataDir} (no control socket at ${path})` : e.message;
      if (!io.signal?.aborted) io.err(`starphleet: ${why}\n`);
    });
    relayControl(sock, { argv, ...(session ? { session } : {}) }, io, (exit) => {
      io.signal?.removeEventListener('abort', stop);
      resolve(exit ?? 1);
    });
  });
}
