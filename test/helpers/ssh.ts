import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { initRepo } from './git.js';
import { makeKey, type TestKey } from './keys.js';
import { startShip, type ShipProcess } from './ship.js';
import { dropTmpDir, tmpDir } from './tmp.js';

/** The OpenSSH client options every test uses: no known_hosts, only the given key, never a prompt. */
export function sshBase(key: string, port: number): string[] {
  return [
    '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes',
    '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR', '-o', 'ConnectTimeout=10', '-i', key, '-p', String(port),
  ];
}

export interface SshResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  readonly stderr: string;
}

let runs = 0;

/**
 * Runs the real `ssh` and collects stdout and stderr through files, not pipes (piping lost lines in the past).
 * `stdin` is a file path to feed, or omitted for /dev/null.
 */
export function runSsh(o: { key: string; port: number; user?: string; args: readonly string[]; options?: readonly string[]; stdin?: string; timeoutMs?: number }): Promise<SshResult> {
  const dir = tmpDir('sp-sshout-');
  const n = ++runs;
  const outPath = join(dir, `out-${n}`);
  const errPath = join(dir, `err-${n}`);
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  const inp = openSync(o.stdin ?? '/dev/null', 'r');
  const child = spawn('ssh', [...sshBase(o.key, o.port), ...(o.options ?? []), `${o.user ?? 'admiral'}@127.0.0.1`, ...o.args], { stdio: [inp, out, err] });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      for (const fd of [out, err, inp]) closeSync(fd);
      const result = { code, signal, stdout: readFileSync(outPath), stderr: readFileSync(errPath, 'utf8') };
      dropTmpDir(dir);
      resolve(result);
    });
  });
}

export interface SshShip {
  readonly ship: ShipProcess;
  readonly hq: string;
  readonly dir: string;
  readonly admiral: TestKey;
  /** The extra admirals asked for, by name (authorized_keys/<name>). */
  readonly keys: Readonly<Record<string, TestKey>>;
  readonly port: number;
  ssh(args: readonly string[], o?: { key?: string; user?: string; options?: readonly string[]; stdin?: string }): Promise<SshResult>;
}

/**
 * A ship whose HQ names the admirals authorized_keys/admiral and, for each entry of `admirals`, authorized_keys/<name>
 * with those key options ('' for none), of the type in `keyTypes` (ed25519 by default); synced and listening.
 */
export async function startSshShip(o: { admirals?: Record<string, string>; keyTypes?: Record<string, 'ed25519' | 'ecdsa' | 'rsa'>; env?: Record<string, string> } = {}): Promise<SshShip> {
  const dir = tmpDir('sp-ssh-');
  const admiral = makeKey(dir, 'admiral');
  const keys: Record<string, TestKey> = {};
  const files: Record<string, string> = { 'authorized_keys/admiral': `${admiral.pub}\n` };
  for (const [name, options] of Object.entries(o.admirals ?? {})) {
    keys[name] = makeKey(dir, name, o.keyTypes?.[name]);
    files[`authorized_keys/${name}`] = `${options ? `${options} ` : ''}${keys[name].pub}\n`;
  }
  const hq = join(dir, 'hq');
  initRepo(hq, files);
  const ship = await startShip({ headquarters: hq, dataDir: join(dir, 'data'), ...(o.env ? { env: o.env } : {}) });
  await ship.waitForLog(/ssh listening on/);
  await ship.waitForLog(/\d+ admirals/);
  return {
    ship,
    hq,
    dir,
    admiral,
    keys,
    port: ship.sshPort,
    ssh: (args, so = {}) =>
      runSsh({ key: so.key ?? admiral.privatePath, port: ship.sshPort, args, ...(so.user ? { user: so.user } : {}), ...(so.options ? { options: so.options } : {}), ...(so.stdin ? { stdin: so.stdin } : {}) }),
  };
}
