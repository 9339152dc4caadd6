import { createHash } from 'node:crypto';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import type { RegistrySource } from '../headquarters/registry-spec.js';
import { loadClientKey } from '../phleet/client-key.js';
import { connectToShip } from '../phleet/ship-ssh.js';
import { CONFIG_MAX_BYTES, incomingMaxBytes } from './download-limits.js';
import { parseRegistryConfig, type RegistryConfig } from './config-file.js';
import { registryPaths } from '../data-dir/registry-paths.js';
import { checkLayerArchive } from './tar-check.js';
import { sha256File } from './sha256-file.js';

type Remote = Extract<RegistrySource, { kind: 'remote' }>;

const CONNECT_TIMEOUT_MS = 30_000;

/**
 * One SFTP session on another ship (phleet/ship-ssh.ts: user `ship`, this ship's client key, the source's pinned host
 * key). deploy-agent's way: `configs/` and the archives, no shell.
 */
async function withSftp<T>(dataDir: string, src: Remote, use: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
  const { client, ready } = connectToShip({ host: src.host, port: src.port, hostKeys: [src.fingerprint] }, { privateKey: loadClientKey(dataDir).privateKey, readyTimeoutMs: CONNECT_TIMEOUT_MS });
  try {
    await ready;
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
    return await use(sftp);
  } finally {
    client.end();
  }
}

/** A file of the other ship, refused past `max` bytes whatever its size claims (read in order, counted). */
function readBounded(sftp: SFTPWrapper, path: string, max: number, where: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const stream = sftp.createReadStream(path, { highWaterMark: 64 * 1024 });
    stream.on('data', (c: Buffer) => {
      size += c.length;
      if (size > max) {
        stream.destroy();
        reject(new Error(`${where}${path} is larger than ${max} bytes: refused`));
      } else chunks.push(c);
    });
    stream.on('error', (err: Error) => reject(new Error(`${where}${path}: ${err.message}`)));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/**
 * Downloads `remote` to `local`, at most `max` bytes: refused before the transfer when the other ship says it is larger,
 * and cut off during it if more comes than it said (the session ends, so the transfer fails).
 */
function download(sftp: SFTPWrapper, remote: string, local: string, max: number, where: string): Promise<void> {
  const tooLarge = (n: number): Error => new Error(`${where}${remote} is ${n} bytes, more than ${max} (STARPHLEET_INCOMING_MAX_BYTES): not downloaded`);
  return new Promise((resolve, reject) => {
    sftp.stat(remote, (err, st) => {
      if (err) return reject(new Error(`${where}${remote}: ${err.message}`));
      if (st.size > max) return reject(tooLarge(st.size));
      let over: Error | null = null;
      sftp.fastGet(remote, local, {
        step: (total) => {
          if (total > max && over === null) {
            over = tooLarge(total);
            sftp.end();
          }
        },
      }, (e) => (over ? reject(over) : e ? reject(new Error(`${where}${remote}: ${e.message}`)) : resolve()));
    });
  });
}

/** The configuration as the other ship shows it at /registry/configs/<N>.json. */
export function fetchRemoteConfig(dataDir: string, src: Remote): Promise<RegistryConfig> {
  const path = `/registry/configs/${src.config}.json`;
  return withSftp(dataDir, src, async (sftp) => parseRegistryConfig((await readBounded(sftp, path, CONFIG_MAX_BYTES, `${src.host}:${src.port}`)).toString('utf8'), `${src.host}:${src.port}${path}`));
}

/**
 * The layer `sha256` of the other ship, in registry/fetched/ once its content hashes to that name and its members stay
 * inside the tree. A layer fetched before is used again without asking.
 */
export async function fetchRemoteLayer(dataDir: string, src: Remote, sha256: string): Promise<string> {
  const dir = registryPaths.fetched(dataDir);
  const dest = join(dir, `${sha256}.tar.gz`);
  if ((await sha256File(dest).catch(() => null)) === sha256) return dest;
  await mkdir(dir, { recursive: true });
  const tmp = join(dir, `.part-${process.pid}-${createHash('sha1').update(`${sha256}${Math.random()}`).digest('hex').slice(0, 12)}`);
  try {
    const max = incomingMaxBytes();
    await withSftp(dataDir, src, (sftp) => download(sftp, `/layers/${sha256}.tar.gz`, tmp, max, `${src.host}:${src.port}`));
    const size = (await stat(tmp)).size;
    if (size > max) throw new Error(`layer ${sha256} from ${src.host}:${src.port} is ${size} bytes, more than ${max} (STARPHLEET_INCOMING_MAX_BYTES): refused`);
    const got = await sha256File(tmp);
    if (got !== sha256) throw new Error(`layer from ${src.host}:${src.port} hashes to ${got}, not ${sha256}: refused`);
    const problem = await checkLayerArchive(tmp);
    if (problem !== null) throw new Error(`layer ${sha256} from ${src.host}:${src.port}: ${problem}`);
    await rename(tmp, dest);
    return dest;
  } finally {
    await rm(tmp, { force: true });
  }
}
