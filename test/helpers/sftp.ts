import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dropTmpDir, tmpDir } from './tmp.js';

export interface SftpResult {
  readonly cwd: string;
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

const CLIENT_OPTIONS = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'LogLevel=ERROR'];

function run(cmd: string, args: readonly string[], cwd: string, timeoutMs: number): Promise<SftpResult> {
  const outPath = join(cwd, `.out-${Date.now()}-${Math.random()}`);
  const errPath = `${outPath}.err`;
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  // stdout/stderr go to files: piping `sftp -b` output lost lines in 10-30 % of runs (shared notes).
  const child = spawn(cmd, args, { cwd, stdio: ['ignore', out, err] });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      closeSync(out);
      closeSync(err);
      resolve({ cwd, code, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') });
    });
  });
}

/** Runs OpenSSH `sftp -b` with the given batch lines as admiral (and extra client `options`); downloads land in `cwd`. */
export function sftpBatch(o: { key: string; port: number; lines: readonly string[]; cwd?: string; user?: string; timeoutMs?: number; options?: readonly string[] }): Promise<SftpResult> {
  const cwd = o.cwd ?? tmpDir('sp-sftp-');
  const batchDir = tmpDir('sp-batch-');
  const batch = join(batchDir, 'batch');
  writeFileSync(batch, `${o.lines.join('\n')}\n`);
  return run('sftp', [...CLIENT_OPTIONS, ...(o.options ?? []), '-i', o.key, '-P', String(o.port), '-b', batch, `${o.user ?? 'admiral'}@127.0.0.1`], cwd, o.timeoutMs ?? 60_000).finally(() => dropTmpDir(batchDir));
}

/** Runs OpenSSH `scp` (which speaks SFTP) to copy one remote file into `cwd`. */
export function scpGet(o: { key: string; port: number; remote: string; cwd: string }): Promise<SftpResult> {
  return run('scp', [...CLIENT_OPTIONS, '-i', o.key, '-P', String(o.port), `admiral@127.0.0.1:${o.remote}`, '.'], o.cwd, 60_000);
}

/** Runs OpenSSH `scp -O` (the legacy scp protocol: an exec of `scp -f` on the ship) to copy one remote file into `cwd`. */
export function scpLegacyGet(o: { key: string; port: number; remote: string; cwd: string; user?: string }): Promise<SftpResult> {
  return run('scp', ['-O', ...CLIENT_OPTIONS, '-i', o.key, '-P', String(o.port), `${o.user ?? 'admiral'}@127.0.0.1:${o.remote}`, '.'], o.cwd, 60_000);
}
