import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { generateUsableKeyPair } from '../../util/ssh-keypair.js';
import { fingerprint } from '../../headquarters/keys.js';
import type { Logger } from '../../log.js';

export interface HostKey {
  readonly type: 'ssh-ed25519' | 'ssh-rsa';
  /** OpenSSH-format private key, as ssh2's Server wants it. */
  readonly privateKey: Buffer;
  /** `SHA256:...` of the public key, as `ssh-keygen -lf` and the client's known_hosts prompt show it. */
  readonly fingerprint: string;
  readonly path: string;
}

const KINDS = [
  { type: 'ssh-ed25519', file: 'ssh_host_ed25519_key', gen: () => generateUsableKeyPair('ed25519') },
  { type: 'ssh-rsa', file: 'ssh_host_rsa_key', gen: () => generateUsableKeyPair('rsa', { bits: 3072 }) },
] as const;

function publicFingerprint(privateKey: Buffer, path: string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`${path}: not a usable OpenSSH private key${key instanceof Error ? `: ${key.message}` : ''}`);
  return fingerprint(key.getPublicSSH());
}

/**
 * The ship's identity for SSH clients: generated once into <dataDir>/host_keys (0600) and reused, so known_hosts
 * entries stay valid across restarts. A key file that exists but cannot be read is an error, never silently replaced:
 * replacing it would make every client warn about a changed host key.
 */
export function loadHostKeys(dataDir: string, log: Logger): HostKey[] {
  const dir = join(dataDir, 'host_keys');
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return KINDS.map(({ type, file, gen }) => {
    const path = join(dir, file);
    let created = false;
    if (!existsSync(path)) {
      const pair = gen();
      // Written beside, then renamed: a crash mid-write never leaves a half key that the next start would refuse.
      writeFileSync(`${path}.tmp`, pair.private, { mode: 0o600 });
      renameSync(`${path}.tmp`, path);
      writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
      created = true;
    }
    chmodSync(path, 0o600);
    const privateKey = readFileSync(path);
    const fp = publicFingerprint(privateKey, path);
    log(`ssh host key ${type} ${fp}${created ? ' (generated)' : ''}`);
    return { type, privateKey, fingerprint: fp, path };
  });
}
