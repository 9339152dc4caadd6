import { connect } from 'node:net';
import { controlSocketPath, type ControlMessage } from '../server/control-socket.js';

/**
 * Runs a ship command on the running ship through its control socket; resolves with the exit code. Ctrl-C (or the
 * given signal, for callers inside the ship such as the update@ session) hangs up, which aborts the command.
 */
export function runOnShip(dataDir: string, argv: readonly string[], out: NodeJS.WritableStream, err: NodeJS.WritableStream, abort?: AbortSignal): Promise<number> {
  const path = controlSocketPath(dataDir);
  return new Promise((resolve) => {
    const sock = connect(path);
    let buf = '';
    let exit: number | null = null;
    const stop = (): void => {
      sock.destroy();
    };
    if (abort) abort.addEventListener('abort', stop, { once: true });
    else process.once('SIGINT', stop);
    sock.on('connect', () => sock.write(`${JSON.stringify({ argv })}\n`));
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const m = JSON.parse(buf.slice(0, nl)) as ControlMessage;
        buf = buf.slice(nl + 1);
        if ('out' in m) out.write(m.out);
        else if ('err' in m) err.write(m.err);
        else exit = m.exit;
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) => {
      const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? `no ship is running with data dir ${dataDir} (no control socket at ${path})` : e.message;
      err.write(`starphleet: ${why}\n`);
      exit = 1;
    });
    sock.on('close', () => {
      if (abort) abort.removeEventListener('abort', stop);
      else process.removeListener('SIGINT', stop);
      resolve(exit ?? 1);
    });
  });
}
