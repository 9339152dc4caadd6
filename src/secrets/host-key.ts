import { join } from 'node:path';
import ssh2 from 'ssh2';

/**
 * The ship's ed25519 host key, as src/server/transport/host-keys.ts makes it (OpenSSH format, 0600) before anything else starts:
 * the identity `age -d -i` opens HQ secrets.age files with. One path, named here for the agent and the CLI's ship view
 * (the server room is not theirs to import); test/secrets-units checks both agree.
 */
export function hostIdentityFile(dataDir: string): string {
  return join(dataDir, 'host_keys', 'ssh_host_ed25519_key');
}

/** `ssh-ed25519 AAAA...` of an OpenSSH ed25519 private key: what the ship writes into its ships/ entry. */
export function ed25519PublicLine(privateKey: Buffer | string): string {
  const parsed = ssh2.utils.parseKey(privateKey);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (!key || key instanceof Error || key.type !== 'ssh-ed25519') throw new Error('not an OpenSSH ed25519 private key');
  return `ssh-ed25519 ${key.getPublicSSH().toString('base64')}`;
}
