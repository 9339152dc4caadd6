import type { Socket } from 'node:net';
import { peerOf, type PeerCred } from './peer-cred.js';

/**
 * The one shape of every local control protocol (the ship's control socket, the data plane's): a checked peer sends
 * exactly one request, a JSON object on one line of at most maxBytes, and nothing after it. Anything else is refused
 * and logged: a second line, bytes after the newline, a line too long, a peer that is not root or this process's own
 * user, and this process itself (the data plane runs as root and proxies to sockets: a request it carries must never
 * reach its own control socket as a message).
 */
export interface OneRequestRules {
  /** For the log: which socket refused. */
  readonly name: string;
  readonly maxBytes: number;
  /** Refuse connections this very process made (the data plane never talks to itself). */
  readonly refuseSelf: boolean;
  readonly log: (line: string) => void;
}

export interface Accepted {
  readonly peer: PeerCred;
  readonly request: Record<string, unknown>;
}

/** Why a peer may not speak here, or null when it may: root, or the uid this process runs as. */
export function peerRefusal(peer: PeerCred, refuseSelf: boolean, self: { pid: number; uid: number } = { pid: process.pid, uid: process.getuid?.() ?? -1 }): string | null {
  if (refuseSelf && peer.pid === self.pid) return 'the connection comes from this process itself';
  if (peer.uid !== 0 && peer.uid !== self.uid) return `uid ${peer.uid} is neither root nor this process's uid ${self.uid}`;
  return null;
}

function describe(peer: PeerCred | null): string {
  return peer ? `peer pid ${peer.pid} uid ${peer.uid}` : 'peer unknown';
}

/**
 * Reads the one request of a connection. Resolves null when it was refused (logged, the socket destroyed) or the
 * peer went away first. After it resolves, any further byte from the peer is refused the same way: the caller
 * answers on a connection that takes no more input.
 */
export function readOneRequest(socket: Socket, rules: OneRequestRules): Promise<Accepted | null> {
  let peer: PeerCred | null = null;
  const refuse = (why: string): null => {
    rules.log(`${rules.name}: refused (${describe(peer)}): ${why}`);
    socket.destroy();
    return null;
  };
  try {
    peer = peerOf(socket);
  } catch (e) {
    return Promise.resolve(refuse(`its peer cannot be read: ${(e as Error).message}`));
  }
  const why = peerRefusal(peer, rules.refuseSelf);
  if (why) return Promise.resolve(refuse(why));
  const who = peer;
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    const finish = (v: Accepted | null): void => {
      if (done) return;
      done = true;
      resolve(v);
    };
    socket.on('data', (d: Buffer) => {
      if (done) {
        // The request was read: whatever comes after it is a second message on one connection.
        refuse(`${d.length} more byte(s) after the request (one request per connection)`);
        return;
      }
      const nl = d.indexOf(0x0a);
      size += nl >= 0 ? nl : d.length;
      if (size > rules.maxBytes) return finish(refuse(`the request is longer than ${rules.maxBytes} bytes`));
      if (nl < 0) {
        chunks.push(d);
        return;
      }
      if (nl + 1 < d.length) return finish(refuse(`${d.length - nl - 1} more byte(s) after the request (one request per connection)`));
      chunks.push(d.subarray(0, nl));
      const text = Buffer.concat(chunks).toString('utf8');
      let v: unknown;
      try {
        v = JSON.parse(text);
      } catch {
        return finish(refuse(`not a JSON object: ${JSON.stringify(text.slice(0, 80))}`));
      }
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return finish(refuse(`not a JSON object: ${JSON.stringify(text.slice(0, 80))}`));
      finish({ peer: who, request: v as Record<string, unknown> });
    });
    socket.on('end', () => {
      // A connection that sends nothing (a liveness probe) is no request to refuse; a cut one is.
      if (!done) finish(size > 0 ? refuse('the connection ended before a whole request') : null);
    });
    socket.on('close', () => finish(null));
    socket.on('error', () => finish(null));
  });
}
