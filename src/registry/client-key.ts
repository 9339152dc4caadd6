import { readFileSync } from 'node:fs';
import { loadClientKey } from '../phleet/client-key.js';

/**
 * The ship's own SSH client key, `<data>/ship_client_key`: the one phleet writes into HQ ships/<name>, so other ships
 * let it in as user `ship`. Made by phleet's loader when missing, whichever part of the ship asks first.
 */
export function clientKey(dataDir: string): { privateKey: Buffer; publicKey: string } {
  const k = loadClientKey(dataDir, 'ship');
  // `<type> <base64>`, without the comment phleet adds.
  return { privateKey: readFileSync(k.path), publicKey: k.publicKey.split(' ').slice(0, 2).join(' ') };
}
