import { runProgram } from '../util/run-program.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Admiral } from '../headquarters/types.js';

import { updateSigners } from '../settings/update-settings.js';
export { updateSigners };

/** A principal name for the allowed-signers file: the admiral's HQ file when it is a plain path, else its place. */
function principal(a: Admiral, i: number): string {
  return /^[A-Za-z0-9._/-]{1,200}$/.test(a.file) ? a.file : `admiral-${i + 1}`;
}

/** git's allowed-signers format: `<principal> namespaces="git" <type> <base64>` per key. */
export function allowedSigners(admirals: readonly Admiral[]): string {
  return admirals.map((a, i) => `${principal(a, i)} namespaces="git" ${a.type} ${a.blob.toString('base64')}\n`).join('');
}

/**
 * Verifies the SSH signature of `sha` in the clone at `dir` against HQ's admirals; returns who signed it, or throws
 * with the reason. Only an SSH signature counts: git would hand a PGP signature to gpg and its keyring instead.
 */
export async function verifyAdmiralSignature(dir: string, sha: string, admirals: readonly Admiral[]): Promise<string> {
  if (admirals.length === 0) throw new Error(`commit ${sha.slice(0, 7)} cannot be verified: HQ has no admirals (STARPHLEET_UPDATE_SIGNERS=admirals)`);
  const raw = await runProgram('git', ['cat-file', 'commit', sha], { cwd: dir });
  if (raw.failed) throw new Error(`commit ${sha.slice(0, 7)}: ${raw.stderr.trim() || raw.message}`);
  const header = String(raw.stdout).split('\n\n')[0] ?? '';
  if (!/^gpgsig -----BEGIN SSH SIGNATURE-----$/m.test(header)) {
    throw new Error(`commit ${sha.slice(0, 7)} is not SSH-signed${/^gpgsig /m.test(header) ? ' (it has a non-SSH signature)' : ''}: STARPHLEET_UPDATE_SIGNERS=admirals installs only commits signed by an admiral's key`);
  }
  const tmp = mkdtempSync(join(tmpdir(), 'starphleet-signers-'));
  try {
    const file = join(tmp, 'allowed_signers');
    writeFileSync(file, allowedSigners(admirals), { mode: 0o600 });
    const r = await runProgram('git', ['-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${file}`, '-c', 'gpg.ssh.program=ssh-keygen', 'verify-commit', sha], {
      cwd: dir,
      timeout: 60_000,
      env: { GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    });
    const said = `${String(r.stderr)}\n${String(r.stdout)}`;
    const good = /Good "git" signature for (\S+) with (\S+) key (SHA256:\S+)/.exec(said);
    if (r.failed || !good) {
      const why = said.split('\n').map((l) => l.trim()).find((l) => /signature|principal|key/i.test(l) && !/^(tree|parent|author|committer|gpgsig) /.test(l)) ?? (r.message.split('\n')[0] || `git verify-commit exited ${r.exitCode}`);
      throw new Error(`commit ${sha.slice(0, 7)} is not signed by an admiral's key in HQ (${why})`);
    }
    return `${good[1]} (${good[2]} ${good[3]})`;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}
