import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { Connection } from 'ssh2';

/**
 * Modern algorithms only (what ssh-audit passes): no SHA-1, no CBC, no non-ETM MACs, no NIST curves. The CTR ciphers
 * with the ETM MACs are OpenSSH's own defaults too; they are here for SSH libraries without AES-GCM or ChaCha20
 * (paramiko, many Java clients).
 */
export const ALGORITHMS = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com', 'aes256-ctr', 'aes192-ctr', 'aes128-ctr'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'],
  compress: ['none'],
} as const;

/** Client signature algorithms we accept (RFC 8308 server-sig-algs): RSA only with SHA-2. */
const SERVER_SIG_ALGS = 'ssh-ed25519,ecdsa-sha2-nistp256,ecdsa-sha2-nistp384,ecdsa-sha2-nistp521,rsa-sha2-512,rsa-sha2-256';

/** The ssh2 release whose internals this file was written against: package.json pins it exactly. */
export const SSH2_VERSION = '1.17.0';

interface KexInitCtor {
  new (lists: {
    kex: string[];
    serverHostKey: string[];
    cs: { cipher: string[]; mac: string[]; compress: string[]; lang: string[] };
    sc: { cipher: string[]; mac: string[]; compress: string[]; lang: string[] };
  }): object;
}

interface PacketWriter {
  readonly allocStart: number;
  alloc(size: number): Buffer;
  finalize(packet: Buffer): Buffer;
}

/** The parts of ssh2's Protocol object this file touches. */
interface ProtocolInternals {
  _offer?: object;
  _kex?: { remoteExtInfoEnabled?: boolean };
  _packetRW?: { write: PacketWriter };
  _onHandshakeComplete?: (...args: unknown[]) => void;
}

const require = createRequire(import.meta.url);
const { KexInit } = require('ssh2/lib/protocol/kex.js') as { KexInit: KexInitCtor };
const { sendPacket } = require('ssh2/lib/protocol/utils.js') as { sendPacket: (proto: object, packet: Buffer) => void };
const { MESSAGE } = require('ssh2/lib/protocol/constants.js') as { MESSAGE: Record<string, number> };

const side = { cipher: [...ALGORITHMS.cipher], mac: [...ALGORITHMS.hmac], compress: [...ALGORITHMS.compress], lang: [] };

/**
 * The server's KEXINIT, built from ALGORITHMS exactly. ssh2 1.17's Server always appends `ssh-rsa` (RSA with SHA-1)
 * to the host key algorithms when it has an RSA key, even when the configured list leaves it out (its lookup of
 * the missing name falls back to "lowest priority", not "absent"); ssh-audit rightly fails that. Strict KEX
 * (the Terrapin countermeasure) is kept, as ssh2 adds it itself.
 */
const OFFER = new KexInit({
  kex: [...ALGORITHMS.kex, 'kex-strict-s-v00@openssh.com'],
  serverHostKey: [...ALGORITHMS.serverHostKey],
  cs: side,
  sc: side,
});

const SSH2_DIR = dirname(require.resolve('ssh2/package.json'));

function internalsError(what: string, dir = SSH2_DIR): Error {
  return new Error(`ssh2 ${installedVersion(dir)} internals are not as starphleet expects (${what}); starphleet needs ssh2 ${SSH2_VERSION} exactly`);
}

function installedVersion(dir: string): string {
  try {
    return (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return '(unknown version)';
  }
}

/**
 * Checked once at start-up, so a changed ssh2 stops the ship with a message naming the version instead of failing
 * on a client's first connection: the version, and the internals useStrictOffer and sendServerSigAlgs rely on.
 */
export function checkSsh2Internals(dir = SSH2_DIR): void {
  const version = installedVersion(dir);
  if (version !== SSH2_VERSION) throw internalsError(`version ${version} is installed`, dir);
  if (typeof KexInit !== 'function' || typeof sendPacket !== 'function' || MESSAGE.EXT_INFO !== 7) throw internalsError('protocol/kex.js, utils.js or constants.js', dir);
  let src = '';
  try {
    src = readFileSync(join(dir, 'lib/protocol/Protocol.js'), 'utf8');
  } catch {
    // reported below as a missing piece
  }
  for (const needle of ['this._offer = ', 'this._onHandshakeComplete = (...args) => {', 'this._server && this._kex.remoteExtInfoEnabled', 'sendExtInfo(this);']) {
    if (!src.includes(needle)) throw internalsError(`lib/protocol/Protocol.js has no ${JSON.stringify(needle)}`, dir);
  }
}

/**
 * RFC 8308 EXT_INFO with our own server-sig-algs. ssh2 1.17's list lacks a comma (so rsa-sha2-512 is never
 * advertised) and names ssh-rsa and ssh-dss, which are refused here.
 */
function sendServerSigAlgs(proto: ProtocolInternals & object): void {
  const write = proto._packetRW?.write;
  if (!write) throw internalsError('no packet writer');
  const name = 'server-sig-algs';
  const body = Buffer.alloc(4 + 4 + name.length + 4 + SERVER_SIG_ALGS.length);
  let p = body.writeUInt32BE(1, 0);
  p = body.writeUInt32BE(name.length, p);
  p += body.write(name, p, 'latin1');
  p = body.writeUInt32BE(SERVER_SIG_ALGS.length, p);
  body.write(SERVER_SIG_ALGS, p, 'latin1');
  const start = write.allocStart;
  const packet = write.alloc(1 + body.length);
  packet[start] = MESSAGE.EXT_INFO as number;
  body.copy(packet, start + 1);
  sendPacket(proto, write.finalize(packet));
}

/**
 * Replaces the offer of a connection that has just sent its ident, and its EXT_INFO. ssh2 emits 'connection' from its
 * header handler and sends its KEXINIT right after, so this is the last moment, and it is in time.
 */
export function useStrictOffer(client: Connection): void {
  const proto = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
  const done = proto?._onHandshakeComplete;
  if (!proto || !proto._offer || typeof done !== 'function') throw internalsError('cannot set the key exchange offer');
  proto._offer = OFFER;
  let first = true;
  proto._onHandshakeComplete = (...args: unknown[]) => {
    // ssh2 sends its own EXT_INFO on the first handshake when the client asked (ext-info-c): send ours instead.
    if (first && proto._kex?.remoteExtInfoEnabled) {
      proto._kex.remoteExtInfoEnabled = false;
      sendServerSigAlgs(proto);
    }
    first = false;
    done(...args);
  };
}
