import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

/**
 * Who is on the other end of an accepted unix socket, as the kernel recorded it at connect() (SO_PEERCRED). Node has
 * no API for it, and no well-kept npm package offers it (the few that exist are unmaintained nan builds), so
 * native/peer-cred.c is a 40-line N-API addon built by node-gyp, the way node-pty builds (binding.gyp; `npm ci` and
 * `npm run build` compile it). A peer check by file modes alone would not do: the data plane runs as root and once
 * followed a link a service had planted to its own control socket, so a root peer can still be the wrong one.
 */
export interface PeerCred {
  readonly pid: number;
  readonly uid: number;
  readonly gid: number;
}

interface Addon {
  peerCred(fd: number): PeerCred;
}

/** The package root: src/util/ (tsx) and dist/util/ (built) are both two levels below it. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PEER_CRED_ADDON = `${ROOT}build/Release/peer_cred.node`;

let addon: Addon | null = null;

function load(): Addon {
  if (addon) return addon;
  if (!existsSync(PEER_CRED_ADDON)) throw new Error(`the peer check needs ${PEER_CRED_ADDON}: build it with \`npm run build:native\` (node-gyp)`);
  addon = createRequire(import.meta.url)(PEER_CRED_ADDON) as Addon;
  return addon;
}

/** Throws when the addon is missing: a control socket refuses to start rather than serve unchecked peers. */
export function assertPeerCheck(): void {
  load();
}

/** The peer of an accepted unix socket; throws when it cannot be read (never guesses). */
export function peerOf(socket: Socket): PeerCred {
  // Node's stream handles expose their fd on Unix; a socket without one (already closed) has no peer to trust.
  const fd = (socket as unknown as { _handle?: { fd?: unknown } })._handle?.fd;
  if (typeof fd !== 'number' || fd < 0) throw new Error('the connection has no file descriptor (closed)');
  return load().peerCred(fd);
}
