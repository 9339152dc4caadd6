import { runProgram } from '../util/run-program.js';
import { posixShellQuote } from '../util/shell-quote.js';

/** How to reach git remotes: the private key (for ssh URLs) and where ssh keeps the hosts it has seen. */
export interface GitAccess {
  readonly privateKey?: string;
  readonly knownHostsFile?: string;
}

/** Environment for every git call: never prompt (a ship has no one to answer), key and host file when given. */
export function gitEnv(access: GitAccess): Record<string, string> {
  const env: Record<string, string> = { GIT_TERMINAL_PROMPT: '0', GIT_ASKPASS: 'true', SSH_ASKPASS: 'true' };
  const ssh = ['ssh', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=accept-new'];
  if (access.knownHostsFile) ssh.push('-o', `UserKnownHostsFile=${posixShellQuote(access.knownHostsFile)}`);
  if (access.privateKey) ssh.push('-i', posixShellQuote(access.privateKey), '-o', 'IdentitiesOnly=yes');
  env.GIT_SSH_COMMAND = ssh.join(' ');
  return env;
}

/** git's own words, without the advice lines it prints after every failed remote call. */
function summarize(stderr: string): string {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !/^(Please make sure you have the correct access rights|and the repository exists\.)$/.test(l) && !l.startsWith('Warning: Permanently added'));
  return lines.slice(-4).join(' / ') || 'no output';
}

export class GitError extends Error {
  constructor(
    readonly args: readonly string[],
    readonly stderr: string,
  ) {
    super(`git ${args[0] ?? ''} failed: ${summarize(stderr)}`);
  }
}

/** Runs git with an argument array (never a shell) and returns trimmed stdout; throws GitError with git's own words. */
export async function git(args: readonly string[], opts: { cwd?: string; access?: GitAccess; timeoutMs?: number } = {}): Promise<string> {
  const r = await runProgram('git', args, {
    cwd: opts.cwd,
    env: gitEnv(opts.access ?? {}),
    timeout: opts.timeoutMs ?? 120_000,
  });
  if (r.failed) throw new GitError(args, r.timedOut ? `timed out after ${(opts.timeoutMs ?? 120_000) / 1000} s` : String(r.stderr || r.message));
  return String(r.stdout).trim();
}
