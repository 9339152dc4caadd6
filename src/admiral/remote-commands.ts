import { createInterface } from 'node:readline/promises';
import { pinHostKey, scanHostKey, unpinHostKey, type ScannedKey } from './host-key.js';
import { AdmiralError, checkFingerprint, checkName, formatTarget, parseTarget, readRemotes, writeRemotes, type Remote } from './remotes.js';
import { destination, pinOptions, spawnSsh, exitCodeOf } from './ssh-client.js';

export interface Io {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
  /** Asks a question on the terminal; null when there is none to ask on. */
  readonly ask: ((question: string) => Promise<string>) | null;
}

/** The process's own terminal, when stdin and stderr are one. */
export function terminalIo(): Io {
  const tty = process.stdin.isTTY === true && process.stderr.isTTY === true;
  return {
    out: (s) => process.stdout.write(s),
    err: (s) => process.stderr.write(s),
    ask: tty
      ? async (q) => {
          const rl = createInterface({ input: process.stdin, output: process.stderr });
          try {
            return await rl.question(q);
          } finally {
            rl.close();
          }
        }
      : null,
  };
}

async function confirmKey(name: string, target: string, key: ScannedKey, given: string | undefined, io: Io): Promise<void> {
  if (given !== undefined) {
    if (given !== key.fingerprint) {
      throw new AdmiralError(`refused: ${target} presented host key ${key.type} ${key.fingerprint}, not the expected ${given}; remote ${name} not added`);
    }
    return;
  }
  const shown =
    `The ship at ${target} presents the host key\n  ${key.type} ${key.fingerprint}\n` +
    `Compare it with what the ship logged at start ("ssh host key ${key.type} SHA256:..."), or on the ship:\n` +
    `  ssh-keygen -lf <data>/host_keys/ssh_host_${key.type.replace(/^ssh-/, '')}_key.pub\n`;
  if (io.ask === null) {
    throw new AdmiralError(`${shown}no terminal to confirm it on: pass --fingerprint ${key.type === 'ssh-ed25519' ? key.fingerprint : 'SHA256:...'} once you have checked it; remote ${name} not added`);
  }
  io.err(shown);
  const answer = (await io.ask(`Pin this key for remote ${name}? (yes/no) `)).trim().toLowerCase();
  if (answer !== 'yes' && answer !== 'y') throw new AdmiralError(`not confirmed: remote ${name} not added`);
}

/** A first login with the pinned key: tells the admiral now, not at the first command, when HQ does not know their key. */
async function tryLogin(configDir: string, remote: Remote): Promise<{ code: number; stderr: string }> {
  const child = spawnSsh(['-o', 'BatchMode=yes', '-o', 'ConnectTimeout=20', ...pinOptions(configDir, remote), ...destination(remote), 'true'], ['ignore', 'ignore', 'pipe']);
  let stderr = '';
  child.stderr?.on('data', (b: Buffer) => (stderr += b.toString('utf8')));
  const code = await new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c, s) => resolve(exitCodeOf(c, s)));
  });
  return { code, stderr };
}

export async function remoteAdd(configDir: string, name: string, spec: string, flags: { fingerprint?: string }, io: Io): Promise<number> {
  checkName(name);
  if (flags.fingerprint !== undefined) checkFingerprint(flags.fingerprint);
  const where = parseTarget(spec);
  const remotes = readRemotes(configDir);
  const existing = remotes.find((r) => r.name === name);
  if (existing) {
    throw new AdmiralError(`remote ${name} already exists (${formatTarget(existing)} ${existing.fingerprint}); remove it first: starphleet remote remove ${name}`);
  }
  const target = formatTarget(where);
  const key = await scanHostKey({ name, ...where });
  await confirmKey(name, target, key, flags.fingerprint, io);
  const remote: Remote = { name, ...where, fingerprint: key.fingerprint };
  pinHostKey(configDir, name, key);
  writeRemotes(configDir, [...remotes, remote]);
  io.out(`added remote ${name}: ${target}, host key ${key.type} ${key.fingerprint} pinned\n`);
  const login = await tryLogin(configDir, remote);
  if (login.code !== 0) {
    const why = login.stderr.trim().split('\n').slice(-3).join('\n  ');
    io.err(`warning: logging in to ${target} failed (ssh exited ${login.code})${why ? `:\n  ${why}` : ''}\n  Is your public key in the HQ's authorized_keys/?\n`);
  }
  return 0;
}

export function remoteList(configDir: string, flags: { names?: boolean }, io: Io): number {
  const remotes = readRemotes(configDir);
  if (flags.names) {
    for (const r of remotes) io.out(`${r.name}\n`);
    return 0;
  }
  if (remotes.length === 0) {
    io.out('no remotes: add one with starphleet remote add <name> admiral@<host>[:port]\n');
    return 0;
  }
  const width = Math.max(...remotes.map((r) => r.name.length));
  const twidth = Math.max(...remotes.map((r) => formatTarget(r).length));
  for (const r of remotes) io.out(`${r.name.padEnd(width)}  ${formatTarget(r).padEnd(twidth)}  ${r.fingerprint}\n`);
  return 0;
}

export function remoteRemove(configDir: string, name: string, io: Io): number {
  const remotes = readRemotes(configDir);
  if (!remotes.some((r) => r.name === name)) {
    throw new AdmiralError(`no remote named ${JSON.stringify(name)}${remotes.length > 0 ? ` (known: ${remotes.map((r) => r.name).join(', ')})` : ''}`);
  }
  writeRemotes(configDir, remotes.filter((r) => r.name !== name));
  unpinHostKey(configDir, name);
  io.out(`removed remote ${name} and its pinned host key\n`);
  return 0;
}
