import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestKey {
  readonly privatePath: string;
  readonly publicPath: string;
  /** The public key line, as it goes into authorized_keys/. */
  readonly pub: string;
  /** What `ssh-keygen -lf` prints as the fingerprint. */
  readonly fingerprint: string;
}

/** Generates a key pair with the real ssh-keygen into dir (never committed: tests make their own). */
export function makeKey(dir: string, name: string, type: 'ed25519' | 'ecdsa' | 'rsa' = 'ed25519'): TestKey {
  const privatePath = join(dir, name);
  const bits = type === 'rsa' ? ['-b', '3072'] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', `${name}@test`, '-f', privatePath]);
  const publicPath = `${privatePath}.pub`;
  const pub = readFileSync(publicPath, 'utf8').trim();
  const fingerprint = execFileSync('ssh-keygen', ['-lf', publicPath], { encoding: 'utf8' }).split(' ')[1] as string;
  return { privatePath, publicPath, pub, fingerprint };
}
