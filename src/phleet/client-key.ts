import { chmodSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { writeFileAtomicSync } from '../util/atomic-write.js';
import { generateUsableKeyPair } from '../util/ssh-keypair.js';

export interface ClientKey {
  /** The private key file (OpenSSH format, 0600): what `ssh -i` is given. */
  readonly path: string;
  /** Its content: what ssh2's client is given. */
  readonly privateKey: Buffer;
  /** `ssh-ed25519 AAAA... starphleet-ship-<name>`: written into the ship's ships/ entry, so other ships let it in as user `ship`. */
  readonly publicKey: string;
}

/** `<data>/ship_client_key`. */
export function clientKeyPath(dataDir: string): string {
  return join(dataDir, 'ship_client_key');
}

/**
 * The ship's own SSH client key, for everything it asks of another ship (phleet fan-out, registry fetches), generated
 * once into the data dir and reused: the other ships know it from this ship's ships/ entry, so a new key would lock it
 * out until its next write-back. Whichever part of the ship asks first makes it; `shipName` only names it in comments.
 */
export function loadClientKey(dataDir: string, shipName?: string): ClientKey {
  const path = clientKeyPath(dataDir);
  const label = shipName ? `starphleet-ship-${shipName}` : 'starphleet-ship';
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pair = generateUsableKeyPair('ed25519', { comment: label });
    // Two parts of the ship making it at once leave one whole key, never half of each.
    writeFileAtomicSync(path, pair.private, 0o600);
    writeFileAtomicSync(`${path}.pub`, `${pair.public}\n`, 0o644);
  }
  chmodSync(path, 0o600);
  const privateKey = readFileSync(path);
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`${path}: not a usable OpenSSH private key${key instanceof Error ? `: ${key.message}` : ''}`);
  return { path, privateKey, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')} ${label}` };
}
