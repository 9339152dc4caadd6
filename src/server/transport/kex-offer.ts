import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type { CipherAlgorithm, CompressionAlgorithm, Connection, KexAlgorithm, MacAlgorithm, ServerHostKeyAlgorithm } from 'ssh2';
import { sshNistKexSetting } from '../../settings/env-settings.js';

export interface SshAlgorithms {
  readonly kex: readonly KexAlgorithm[];
  readonly serverHostKey: readonly ServerHostKeyAlgorithm[];
  readonly cipher: readonly CipherAlgorithm[];
  readonly hmac: readonly MacAlgorithm[];
  readonly compress: readonly CompressionAlgorithm[];
}

/**
 * What OpenSSH 9.2's sshd offers, in its order of preference, less what ssh2 cannot do (sntrup761x25519 and
 * diffie-hellman-group-exchange-sha256 as a server; see docs/notes.md) and less what is weaker than OpenSSH's own
 * defaults: no SHA-1 anywhere, no CBC, no ssh-rsa signatures. The fixed DH groups and the non-ETM MACs are OpenSSH
 * defaults too, and some clients have nothing else: FIPS-mode OpenSSH and Java clients (DH groups), libssh2 before
 * 1.11 (curl, PHP: CTR with hmac-sha2-256/512 only). ssh-audit warns about the non-ETM MACs, it does not fail them.
 */
export const ALGORITHMS: SshAlgorithms = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org', 'diffie-hellman-group16-sha512', 'diffie-hellman-group18-sha512', 'diffie-hellman-group14-sha256'],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: ['chacha20-poly1305@openssh.com', 'aes128-ctr', 'aes192-ctr', 'aes256-ctr', 'aes128-gcm@openssh.com', 'aes256-gcm@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com', 'hmac-sha2-256', 'hmac-sha2-512'],
  compress: ['none'],
};

/**
 * ECDH on the NIST curves, which OpenSSH offers right after curve25519: only with STARPHLEET_SSH_NIST_KEX=on. Every
 * ssh-audit release fails them ("using weak elliptic curves"), and no client we know needs them once the DH groups
 * are offered (docs/ssh.md, the client matrix); a FIPS policy that wants them can have them.
 */
export const NIST_KEX: readonly KexAlgorithm[] = ['ecdh-sha2-nistp256', 'ecdh-sha2-nistp384', 'ecdh-sha2-nistp521'];

/** The ship's algorithms: ALGORITHMS, with the NIST curves in OpenSSH's place when asked for. */
export function sshAlgorithms(o: { readonly nistKex: boolean }): SshAlgorithms {
  const curve25519 = ALGORITHMS.kex.filter((k) => k.startsWith('curve25519'));
  const dh = ALGORITHMS.kex.filter((k) => !k.startsWith('curve25519'));
  return { ...ALGORITHMS, kex: o.nistKex ? [...curve25519, ...NIST_KEX, ...dh] : [...ALGORITHMS.kex] };
}

/** STARPHLEET_SSH_NIST_KEX: `on` or `off` (the default); anything else is an error naming the variable. */
export function sshAlgorithmsFromEnv(env: NodeJS.ProcessEnv = process.env): SshAlgorithms {
  return sshAlgorithms({ nistKex: sshNistKexSetting(env) });
}

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

/**
 * The server's KEXINIT, built from the algorithms exactly. ssh2 1.17's Server always appends `ssh-rsa` (RSA with
 * SHA-1) to the host key algorithms when it has an RSA key, even when the configured list leaves it out (its lookup
 * of the missing name falls back to "lowest priority", not "absent"); ssh-audit rightly fails that. Strict KEX
 * (the Terrapin countermeasure) is kept, as ssh2 adds it itself.
 */
export function kexOffer(a: SshAlgorithms): object {
  const side = { cipher: [...a.cipher], mac: [...a.hmac], compress: [...a.compress], lang: [] };
  return new KexInit({ kex: [...a.kex, 'kex-strict-s-v00@openssh.com'], serverHostKey: [...a.serverHostKey], cs: side, sc: side });
}

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
export function useStrictOffer(client: Connection, offer: object): void {
  const proto = (client as unknown as { _protocol?: ProtocolInternals })._protocol;
  const done = proto?._onHandshakeComplete;
  if (!proto || !proto._offer || typeof done !== 'function') throw internalsError('cannot set the key exchange offer');
  proto._offer = offer;
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
