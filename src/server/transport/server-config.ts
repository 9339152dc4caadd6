import type { ServerConfig } from 'ssh2';
import { VERSION } from '../../version.js';
import type { HostKey } from './host-keys.js';
import type { SshAlgorithms } from './kex-offer.js';
import type { SshLimits } from './limits.js';

/** ssh2's config type lacks the keepalive fields its server reads. */
type ServerConfigWithKeepalive = ServerConfig & { keepaliveInterval: number; keepaliveCountMax: number };

/** ssh2's server settings: the host keys, only the algorithms of kex-offer.ts, our ident, and the keepalive limits. */
export function serverConfig(hostKeys: readonly HostKey[], limits: SshLimits, algorithms: SshAlgorithms): ServerConfigWithKeepalive {
  return {
    hostKeys: hostKeys.map((k) => k.privateKey),
    algorithms: {
      kex: [...algorithms.kex],
      serverHostKey: [...algorithms.serverHostKey],
      cipher: [...algorithms.cipher],
      hmac: [...algorithms.hmac],
      compress: [...algorithms.compress],
    },
    ident: `starphleet_${VERSION}`,
    keepaliveInterval: limits.keepaliveIntervalSeconds * 1000,
    keepaliveCountMax: limits.keepaliveCountMax,
  };
}
