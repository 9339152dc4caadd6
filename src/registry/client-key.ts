import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { generateUsableKeyPair } from '../util/ssh-keypair.js';

/**
 * The ship's own SSH client key, `<data>/ship_client_key` (0600): the one phleet (#20) makes at the ship's start and
 * writes into HQ ships/<name>, so other ships let it in as user `ship`. Made here too when missing (same file, same
 * format), so a registry:// service works whichever part of the ship comes first.
 */
export function clientKey(dataDir: string): { privateKey: Buffer; publicKey: string } {
  const path = join(dataDir, 'ship_client_key');
  if (!existsSync(path)) {
    mkdirSync(dataDir, { recursive: true, mode: 0o700 });
    const pair = generateUsableKeyPair('ed25519', { comment: 'starphleet ship' });
    writeFileSync(`${path}.tmp-${process.pid}`, pair.private, { mode: 0o600 });
    writeFileSync(`${path}.pub`, `${pair.public}\n`, { mode: 0o644 });
    renameSync(`${path}.tmp-${process.pid}`, path);
  }
  chmodSync(path, 0o600);
  const privateKey = readFileSync(path);
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error) throw new Error(`${path}: not a usable OpenSSH private key${key instanceof Error ? `: ${key.message}` : ''}`);
  return { privateKey, publicKey: `${key.type} ${key.getPublicSSH().toString('base64')}` };
}
