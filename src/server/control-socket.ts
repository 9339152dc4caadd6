import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { findCommand, type Caller, type CommandShip } from '../commands/registry.js';
import type { Logger } from '../log.js';
import { callerOf } from './session-tokens.js';

/**
 * The ship's local control socket (<data>/control.sock, mode 0600): the CLI and admirals' shells reach the running
 * ship through it. Protocol: the client sends one JSON line `{"argv": [...]}`; the ship answers with JSON lines
 * `{"out": text}` / `{"err": text}` and a final `{"exit": code}`. Closing the socket aborts the command.
 */

export interface ControlRequest {
  readonly argv: readonly string[];
  /** STARPHLEET_SESSION of the admiral's SSH session the CLI runs in (session-tokens.ts), if any. */
  readonly session?: string;
}

export type ControlMessage = { readonly out: string } | { readonly err: string } | { readonly exit: number };

const MAX_REQUEST_BYTES = 64 * 1024;

function parseRequest(line: string): ControlRequest | null {
  try {
    const v = JSON.parse(line) as unknown;
    if (typeof v !== 'object' || v === null) return null;
    const argv = (v as { argv?: unknown }).argv;
    if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) return null;
    const session = (v as { session?: unknown }).session;
    if (session !== undefined && typeof session !== 'string') return null;
    return { argv: argv as string[], ...(session !== undefined ? { session } : {}) };
  } catch {
    return null;
  }
}

async function serve(sock: Socket, ship: CommandShip, log: Logger): Promise<void> {
  const send = (m: ControlMessage): void => {
    if (!sock.destroyed) sock.write(`${JSON.stringify(m)}\n`);
  };
  let buf = '';
  const line = await new Promise<string | null>((resolve) => {
    sock.on('data', (d: Buffer) => {
      buf += d.toString('utf8');
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
      else if (buf.length > MAX_REQUEST_BYTES) resolve(null);
    });
    sock.on('end', () => resolve(null));
    sock.on('error', () => resolve(null));
  });
  const req = line === null ? null : parseRequest(line);
  if (!req) {
    send({ err: 'bad control request\n' });
    send({ exit: 2 });
    sock.end();
    return;
  }
  const [name = '', ...args] = req.argv;
  const cmd = findCommand(name);
  if (!cmd) {
    send({ err: `starphleet: unknown command ${JSON.stringify(name)}\n` });
    send({ exit: 2 });
    sock.end();
    return;
  }
  const abort = new AbortController();
  sock.on('close', () => abort.abort());
  const caller: Caller = callerOf(req.session);
  let code: number;
  try {
    code = await cmd.run(args, { ship, caller, out: (out) => send({ out }), err: (err) => send({ err }), signal: abort.signal });
  } catch (e) {
    log(`control: ${name} failed: ${(e as Error).stack ?? String(e)}`);
    send({ err: `starphleet ${name}: ${(e as Error).message}\n` });
    code = 1;
  }
  send({ exit: code });
  sock.end();
}

export function controlSocketPath(dataDir: string): string {
  return `${dataDir}/control.sock`;
}

export function startControlSocket(ship: CommandShip, log: Logger): Promise<Server> {
  const path = controlSocketPath(ship.options.dataDir);
  // A socket file left by a ship that died is in the way; a live ship holding it would have failed our data-dir lock.
  if (existsSync(path)) unlinkSync(path);
  const server = createServer((sock) => {
    sock.on('error', () => {});
    void serve(sock, ship, log);
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      chmodSync(path, 0o600);
      resolve(server);
    });
  });
}
