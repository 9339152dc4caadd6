import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeProof, PROOF_NAMESPACE, requestMessage, type PhleetOp } from '../phleet/request-proof.js';
import { AdmiralError } from './remotes.js';
import { admiralKeySetting } from '../settings/phleet-settings.js';

/** The admiral's key: STARPHLEET_ADMIRAL_KEY (a private key, or a .pub whose private half is in ssh-agent), else ~/.ssh's. */
export function admiralKey(env: NodeJS.ProcessEnv = process.env): string {
  const given = admiralKeySetting(env);
  if (given !== undefined) return given;
  const found = ['id_ed25519', 'id_ecdsa', 'id_rsa'].map((n) => join(env.HOME ?? homedir(), '.ssh', n)).find((p) => existsSync(p));
  if (found === undefined) throw new AdmiralError('no key to sign the phleet request with: set STARPHLEET_ADMIRAL_KEY to your admiral key (or to its .pub, with the key in ssh-agent)');
  return found;
}

/**
 * Signs a phleet request (request-proof.ts) with the admiral's SSH key, by OpenSSH's `ssh-keygen -Y sign`: the ships
 * serve another ship `logs` or `redeploy` only with it. Returns the proof token to pass as `--proof`.
 */
export async function signPhleetRequest(op: PhleetOp, service: string, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  const key = admiralKey(env);
  const request = { op, service, issued: Math.floor(Date.now() / 1000), nonce: randomBytes(16).toString('hex') };
  const dir = mkdtempSync(join(tmpdir(), 'starphleet-sign-'));
  try {
    const file = join(dir, 'request');
    writeFileSync(file, requestMessage(request), { mode: 0o600 });
    // stdin inherited: a key with a passphrase asks for it on the terminal.
    await new Promise<void>((resolve, reject) =>
      execFile('ssh-keygen', ['-q', '-Y', 'sign', '-f', key, '-n', PROOF_NAMESPACE, file], { timeout: 120_000 }, (e, _out, stderr) =>
        e ? reject(new AdmiralError(`signing the phleet request with ${key} failed: ${String(stderr).trim() || e.message}`)) : resolve(),
      ),
    );
    return encodeProof(request, readFileSync(`${file}.sig`, 'utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** For `-s <ship> phleet logs|redeploy <service> ...`: the argv with a fresh `--proof`, unless it carries one. */
export async function withPhleetProof(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  const [cmd, verb, service] = argv;
  if (cmd !== 'phleet' || (verb !== 'logs' && verb !== 'redeploy') || service === undefined || service.startsWith('-') || argv.includes('--proof')) return [...argv];
  const follow = argv.slice(3).some((a) => a === '-f' || a === '--follow');
  const op: PhleetOp = verb === 'redeploy' ? 'redeploy' : follow ? 'logs-follow' : 'logs';
  return [...argv, '--proof', await signPhleetRequest(op, service, env)];
}
