import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fingerprint } from '../headquarters/keys.js';
import { knownHostsFile } from './config-dir.js';
import { AdmiralError, formatTarget, writePrivate } from './remotes.js';
import { destination, exitCodeOf, hostKeyAlias, spawnSsh } from './ssh-client.js';

export interface ScannedKey {
  readonly type: string;
  readonly base64: string;
  readonly fingerprint: string;
}

const KEY_LINE = /^([a-z0-9@.-]+) ([A-Za-z0-9+/]+={0,2})$/;

/**
 * The host key the ship presents to the user's own ssh (through ~/.ssh/config, ProxyJump and all). ssh hands the key
 * to a KnownHostsCommand that records it and answers "unknown"; strict checking then stops ssh before it
 * authenticates, so nothing of the user's is offered to a host not yet trusted.
 */
export async function scanHostKey(remote: { name: string; host: string; port: number }): Promise<ScannedKey> {
  const dir = mkdtempSync(join(tmpdir(), 'starphleet-scan-'));
  try {
    const seen = join(dir, 'seen');
    const script = join(dir, 'record');
    writeFileSync(script, `#!/bin/sh\n[ "$1" = NONE ] || printf '%s %s\\n' "$1" "$2" >> '${seen.replace(/'/g, `'\\''`)}'\n`);
    chmodSync(script, 0o700);
    const child = spawnSsh(
      [
        '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', '-o', `HostKeyAlias=${hostKeyAlias(remote.name)}`,
        '-o', 'UserKnownHostsFile=/dev/null', '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'StrictHostKeyChecking=yes',
        '-o', 'UpdateHostKeys=no', '-o', 'CheckHostIP=no', '-o', `KnownHostsCommand=${script} %t %K`,
        ...destination(remote), 'true',
      ],
      ['ignore', 'ignore', 'pipe'],
    );
    let stderr = '';
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
    const code = await new Promise<number>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', (c, s) => resolve(exitCodeOf(c, s)));
    });
    const lines = existsSync(seen) ? readFileSync(seen, 'utf8').split('\n').filter((l) => KEY_LINE.test(l)) : [];
    const first = lines[0];
    if (first === undefined) {
      const why = stderr.trim().split('\n').filter((l) => !/^(No .* host key is known|Host key verification failed)/.test(l)).join('\n  ');
      throw new AdmiralError(`could not get the host key of ${formatTarget(remote)} (ssh exited ${code})${why ? `:\n  ${why}` : ''}`);
    }
    const [, type = '', base64 = ''] = KEY_LINE.exec(first) as RegExpExecArray;
    return { type, base64, fingerprint: fingerprint(Buffer.from(base64, 'base64')) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function aliasOf(line: string): string {
  return line.trim().split(/\s+/)[0] ?? '';
}

/** Pins the key for the remote in our known_hosts (replacing only that remote's entry). */
export function pinHostKey(configDir: string, name: string, key: ScannedKey): void {
  const file = knownHostsFile(configDir);
  const alias = hostKeyAlias(name);
  const kept = existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '' && aliasOf(l) !== alias) : [];
  writePrivate(file, [...kept, `${alias} ${key.type} ${key.base64}`].map((l) => `${l}\n`).join(''));
}

/** Forgets the remote's pinned key. */
export function unpinHostKey(configDir: string, name: string): void {
  const file = knownHostsFile(configDir);
  if (!existsSync(file)) return;
  const alias = hostKeyAlias(name);
  const kept = readFileSync(file, 'utf8').split('\n').filter((l) => l.trim() !== '' && aliasOf(l) !== alias);
  writePrivate(file, kept.map((l) => `${l}\n`).join(''));
}
