import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Client, type SFTPWrapper } from 'ssh2';
import { fingerprint } from '../headquarters/keys.js';
import type { RegistrySource } from '../headquarters/registry-spec.js';
import { clientKey } from './client-key.js';
import { parseRegistryConfig, type RegistryConfig } from './config-file.js';
import { registryPaths } from './paths.js';
import { checkLayerArchive } from './tar-check.js';
import { sha256File } from './sha256-file.js';

type Remote = Extract<RegistrySource, { kind: 'remote' }>;

const CONNECT_TIMEOUT_MS = 30_000;

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/**
 * One SFTP session on another ship as user `ship`, with this ship's client key; the host key must be the pinned one
 * (ssh2 ends the handshake before authentication otherwise). deploy-agent's way: `configs/` and the archives, no shell.
 */
async function withSftp<T>(dataDir: string, src: Remote, use: (sftp: SFTPWrapper) => Promise<T>): Promise<T> {
  const { privateKey } = clientKey(dataDir);
  const client = new Client();
  let seen = '';
  const ready = new Promise<SFTPWrapper>((resolve, reject) => {
    client.once('ready', () => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
    client.once('error', (e) => reject(seen && !sameText(seen, src.fingerprint) ? new Error(`host key of ${src.host}:${src.port} is ${seen}, not the pinned ${src.fingerprint}: refused`) : e));
  });
  client.connect({
    host: src.host,
    port: src.port,
    username: 'ship',
    privateKey,
    readyTimeout: CONNECT_TIMEOUT_MS,
    hostVerifier: (key: Buffer) => {
      seen = fingerprint(key);
      return sameText(seen, src.fingerprint);
    },
  });
  try {
    return await use(await ready);
  } finally {
    client.end();
  }
}

function readAll(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => sftp.readFile(path, (err, data) => (err ? reject(new Error(`${path}: ${err.message}`)) : resolve(data))));
}

function download(sftp: SFTPWrapper, remote: string, local: string): Promise<void> {
  return new Promise((resolve, reject) => sftp.fastGet(remote, local, (err) => (err ? reject(new Error(`${remote}: ${err.message}`)) : resolve())));
}

/** The configuration as the other ship shows it at /registry/configs/<N>.json. */
export function fetchRemoteConfig(dataDir: string, src: Remote): Promise<RegistryConfig> {
  const path = `/registry/configs/${src.config}.json`;
  return withSftp(dataDir, src, async (sftp) => parseRegistryConfig((await readAll(sftp, path)).toString('utf8'), `${src.host}:${src.port}${path}`));
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
    await withSftp(dataDir, src, (sftp) => download(sftp, `/layers/${sha256}.tar.gz`, tmp));
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
