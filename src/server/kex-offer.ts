import { createRequire } from 'node:module';
import type { Connection } from 'ssh2';

/** Modern algorithms only (what ssh-audit passes): no SHA-1, no CBC, no non-ETM MACs, no NIST curves. */
export const ALGORITHMS = {
  kex: ['curve25519-sha256', 'curve25519-sha256@libssh.org'],
  serverHostKey: ['ssh-ed25519', 'rsa-sha2-512', 'rsa-sha2-256'],
  cipher: ['chacha20-poly1305@openssh.com', 'aes256-gcm@openssh.com', 'aes128-gcm@openssh.com'],
  hmac: ['hmac-sha2-256-etm@openssh.com', 'hmac-sha2-512-etm@openssh.com'],
  compress: ['none'],
} as const;

interface KexInitCtor {
  new (lists: {
    kex: string[];
    serverHostKey: string[];
    cs: { cipher: string[]; mac: string[]; compress: string[]; lang: string[] };
    sc: { cipher: string[]; mac: string[]; compress: string[]; lang: string[] };
  }): object;
}

const { KexInit } = createRequire(import.meta.url)('ssh2/lib/protocol/kex.js') as { KexInit: KexInitCtor };

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

/**
 * Replaces the offer of a connection that has just sent its ident. ssh2 emits 'connection' from its header handler
 * and sends its KEXINIT right after, so this is the last moment, and it is in time.
 */
export function useStrictOffer(client: Connection): void {
  const proto = (client as unknown as { _protocol?: { _offer?: object } })._protocol;
  if (!proto || !proto._offer) throw new Error('ssh2 internals changed: cannot set the key exchange offer (check ssh2 version)');
  proto._offer = OFFER;
}
