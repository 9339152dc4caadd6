import { chmodSync, existsSync, unlinkSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { findCommand, type Caller, type CommandShip } from '../command-list.js';
import type { Logger } from '../../log.js';
import { callerOf } from './session-tokens.js';
import { assertPeerCheck } from '../../util/peer-cred.js';
import { readOneRequest } from '../../util/one-request.js';
import { controlSocketPath, type ControlMessage, type ControlRequest } from './control-wire.js';

/**
 * The ship's local control socket (<data>/control.sock, mode 0600): the CLI and admirals' shells reach the running
 * ship through it. Protocol: a peer that is root or the ship's own uid (SO_PEERCRED) sends one JSON line
 * `{"argv": [...]}` and nothing after it (util/one-request.ts: anything else is refused and logged); the ship answers
 * with JSON lines `{"out": text}` / `{"err": text}` and a final `{"exit": code}`. Closing the socket aborts the command.
 */

const MAX_REQUEST_BYTES = 64 * 1024;

function parseRequest(v: Record<string, unknown>): ControlRequest | null {
  const argv = v.argv;
  if (!Array.isArray(argv) || argv.length === 0 || !argv.every((a) => typeof a === 'string')) return null;
  const session = v.session;
  if (session !== undefined && typeof session !== 'string') return null;
  return { argv: argv as string[], ...(session !== undefined ? { session } : {}) };
}

async function serve(sock: Socket, ship: CommandShip, log: Logger): Promise<void> {
  const send = (m: ControlMessage): void => {
    if (!sock.destroyed) sock.write(`${JSON.stringify(m)}\n`);
  };
  const got = await readOneRequest(sock, { name: 'control socket', maxBytes: MAX_REQUEST_BYTES, refuseSelf: false, log });
  if (!got) return;
  const req = parseRequest(got.request);
  if (!req) {
    log(`control socket: refused (peer pid ${got.peer.pid} uid ${got.peer.uid}): no argv of strings`);
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

export function startControlSocket(ship: CommandShip, log: Logger): Promise<Server> {
  const path = controlSocketPath(ship.options.dataDir);
  // Without the peer check the socket does not serve at all.
  assertPeerCheck();
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
