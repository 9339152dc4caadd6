import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CHALLENGE_PREFIX, CHALLENGE_TOKEN, tlsPaths } from '../../data-dir/tls-paths.js';

/**
 * The answer to `GET /.well-known/acme-challenge/<token>`: the key authorization the ship wrote for that token, or
 * null (404). The token must be base64url, so no request can name another file.
 */
export async function challengeAnswer(dataDir: string, path: string): Promise<string | null> {
  const token = path.slice(CHALLENGE_PREFIX.length).split('?')[0] ?? '';
  if (!CHALLENGE_TOKEN.test(token)) return null;
  try {
    return await readFile(join(tlsPaths.challenges(dataDir), token), 'utf8');
  } catch {
    return null;
  }
}

export function isChallengePath(target: string): boolean {
  return target.startsWith(CHALLENGE_PREFIX);
}
