import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { remotesFile } from './config-dir.js';
import { writeFileAtomicSync } from '../util/atomic-write.js';

/** A ship the admiral drives from this machine. */
export interface Remote {
  readonly name: string;
  readonly host: string;
  readonly port: number;
  /** `SHA256:...` of the pinned host key (the key itself is in known_hosts). */
  readonly fingerprint: string;
}

/** Remote names become a git remote name and an ssh HostKeyAlias: one plain word. */
export const REMOTE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const HOST = /^[A-Za-z0-9._-]+$/;
const IPV6 = /^[0-9A-Fa-f:.]+$/;
const FINGERPRINT = /^SHA256:[A-Za-z0-9+/]{43}$/;
/** The ship's default SSH port (`starphleet ship --ssh-port`). */
export const DEFAULT_SSH_PORT = 2222;

export class AdmiralError extends Error {}

/** `[admiral@]host[:port]`, `[admiral@][v6addr][:port]`; the ship admits only the admiral user to commands. */
export function parseTarget(spec: string): { host: string; port: number } {
  let rest = spec;
  const at = rest.lastIndexOf('@');
  if (at >= 0) {
    const user = rest.slice(0, at);
    if (user !== 'admiral') throw new AdmiralError(`${JSON.stringify(spec)}: the user must be admiral (ships run commands only for admiral@)`);
    rest = rest.slice(at + 1);
  }
  let host: string;
  let port: string | undefined;
  const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(rest);
  if (v6) {
    host = v6[1] ?? '';
    port = v6[2];
    if (!IPV6.test(host) || !host.includes(':')) throw new AdmiralError(`${JSON.stringify(spec)}: ${JSON.stringify(host)} is not an IPv6 address`);
  } else {
    const colon = rest.indexOf(':');
    host = colon < 0 ? rest : rest.slice(0, colon);
    port = colon < 0 ? undefined : rest.slice(colon + 1);
    if (!HOST.test(host) || host.startsWith('-') || host.startsWith('.')) throw new AdmiralError(`${JSON.stringify(spec)}: expected admiral@host[:port], host ${JSON.stringify(host)} is not a host name or address`);
  }
  const n = port === undefined ? DEFAULT_SSH_PORT : Number(port);
  if (!/^\d{1,5}$/.test(port ?? '2222') || !Number.isInteger(n) || n < 1 || n > 65535) throw new AdmiralError(`${JSON.stringify(spec)}: port ${JSON.stringify(port)} is not a number from 1 to 65535`);
  return { host, port: n };
}

/** `admiral@host:port`, with brackets around an IPv6 address: the form `remote list` prints and `remote add` reads. */
export function formatTarget(r: { host: string; port: number }): string {
  return `admiral@${r.host.includes(':') ? `[${r.host}]` : r.host}:${r.port}`;
}

export function checkName(name: string): void {
  if (!REMOTE_NAME.test(name)) throw new AdmiralError(`remote name ${JSON.stringify(name)}: use 1-63 letters, digits, . _ - (starting with a letter or digit)`);
}

export function checkFingerprint(fp: string): void {
  if (!FINGERPRINT.test(fp)) throw new AdmiralError(`fingerprint ${JSON.stringify(fp)}: expected SHA256: and 43 base64 characters, as ssh-keygen -lf prints it`);
}

const HEADER = `# Ships this admiral drives, written by \`starphleet remote add|remove\`.
# One per line: <name> admiral@<host>:<port> <host key fingerprint>; the keys are pinned in known_hosts next to this file.
`;

/** Reads the remotes file (none yet: empty); a malformed line is an error naming file:line, never skipped. */
export function readRemotes(dir: string): Remote[] {
  const file = remotesFile(dir);
  if (!existsSync(file)) return [];
  const out: Remote[] = [];
  readFileSync(file, 'utf8')
    .split('\n')
    .forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const where = `${file}:${i + 1}`;
      const [name = '', target = '', fp = '', ...extra] = line.split(/\s+/);
      try {
        if (extra.length > 0 || fp === '') throw new AdmiralError('expected <name> admiral@<host>:<port> <fingerprint>');
        checkName(name);
        checkFingerprint(fp);
        if (out.some((r) => r.name === name)) throw new AdmiralError(`remote ${name} given twice`);
        out.push({ name, ...parseTarget(target), fingerprint: fp });
      } catch (e) {
        throw new AdmiralError(`${where}: ${(e as Error).message}`);
      }
    });
  return out;
}

/** Replaces a file whole (beside, then renamed), private to the user: a crash never leaves half a file. */
export function writePrivate(file: string, text: string): void {
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileAtomicSync(file, text, 0o600);
}

export function writeRemotes(dir: string, remotes: readonly Remote[]): void {
  writePrivate(remotesFile(dir), HEADER + remotes.map((r) => `${r.name} ${formatTarget(r)} ${r.fingerprint}\n`).join(''));
}

/** The remote of that name, or an error that says how to add one. */
export function findRemote(dir: string, name: string): Remote {
  const remotes = readRemotes(dir);
  const r = remotes.find((x) => x.name === name);
  if (r) return r;
  const known = remotes.length > 0 ? `known: ${remotes.map((x) => x.name).join(', ')}` : 'none known yet';
  throw new AdmiralError(`no remote named ${JSON.stringify(name)} (${known}); add it with: starphleet remote add ${REMOTE_NAME.test(name) ? name : '<name>'} admiral@<host>[:port]`);
}
