import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { generateUsableKeyPair } from '../util/ssh-keypair.js';

export interface ClientKey {
  /** The private key file (OpenSSH format, 0600): what `ssh -i` is given. */
  readonly path: string;
  /** `ssh-ed25519 AAAA... <comment>`: written into the ship's ships/ entry, so other ships accept it as user `ship`. */
  readonly publicKey: string;
}

/**
 * The ship's own SSH client key (phleet fan-out to the other ships), generated once into the data dir and reused:
 * the other ships know it from this ship's ships/ entry, so a new key would lock it out until its next write-back.
 */
export function loadClientKey(dataDir: string, shipName: string): ClientKey {
  const path = join(dataDir, 'ship_client_key');
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pair = generateUsableKeyPair('ed25519', { comment: `starphleet ship ${shipName}` });
    // Per process: the registry and phleet may both make it at a ship's first start.
    writeFileSync(`${path}.tmp-${process.pid}`, pair.private, { mode: 0o600 });
    renameSync(`${path}.tmp-${process.pid}`, path);
    writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
  }
  chmodSync(path, 0o600);
  const parsed = ssh2.utils.parseKey(readFileSync(path));
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`${path}: not a usable OpenSSH private key${key instanceof Error ? `: ${key.message}` : ''}`);
  return { path, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')} starphleet-ship-${shipName}` };
}
