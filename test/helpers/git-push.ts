import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

/** Real git over the real OpenSSH client with only this key, never a prompt, no known_hosts. */
export function gitSshEnv(key: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_SSH_COMMAND: `ssh -i ${key} -o IdentitiesOnly=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR`,
    GIT_TERMINAL_PROMPT: '0',
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_AUTHOR_NAME: 'Test Admiral',
    GIT_AUTHOR_EMAIL: 'admiral@example.com',
    GIT_COMMITTER_NAME: 'Test Admiral',
    GIT_COMMITTER_EMAIL: 'admiral@example.com',
    ...extra,
  };
}

export interface GitResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs git to completion (clone, ls-remote, a push expected to end by itself). */
export function runGit(args: readonly string[], o: { cwd: string; key: string; env?: Record<string, string>; timeoutMs?: number }): Promise<GitResult> {
  return new Promise((resolve) => {
    execFile('git', [...args], { cwd: o.cwd, env: gitSshEnv(o.key, o.env), timeout: o.timeoutMs ?? 120_000, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface Line {
  /** Date.now() when the test read it. */
  readonly at: number;
  readonly text: string;
}

/** A `git push` that keeps running (its test instance serves until it is interrupted), read line by line as it prints. */
export class Push {
  readonly child: ChildProcess;
  readonly lines: Line[] = [];
  readonly exited: Promise<number | null>;
  private partial = '';

  constructor(args: readonly string[], o: { cwd: string; key: string }) {
    // Its own process group, like a terminal's foreground job: interrupt() is the admiral's Ctrl-C.
    this.child = spawn('git', ['push', ...args], { cwd: o.cwd, env: gitSshEnv(o.key), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const take = (b: Buffer): void => {
      const at = Date.now();
      const parts = (this.partial + b.toString('utf8')).split(/\r?\n|\r/);
      this.partial = parts.pop() ?? '';
      for (const text of parts) this.lines.push({ at, text });
    };
    this.child.stdout?.on('data', take);
    this.child.stderr?.on('data', take);
    this.exited = new Promise((r) => this.child.once('close', (code) => r(code)));
  }

  text(): string {
    return [...this.lines.map((l) => l.text), this.partial].join('\n');
  }

  /** The first line matching re, waiting for it (fails early if git exits first). */
  async waitLine(re: RegExp, timeoutMs = 120_000): Promise<Line> {
    return waitFor(
      () => {
        const found = this.lines.find((l) => re.test(l.text));
        if (!found && this.child.exitCode !== null) throw new Error(`git push exited ${this.child.exitCode} before ${re}`);
        return found;
      },
      () => `${re} in git push output:\n${this.text()}`,
      timeoutMs,
    );
  }

  /** Ctrl-C: SIGINT to git and its ssh, as a terminal sends it to the foreground job. */
  interrupt(): void {
    if (this.child.pid !== undefined && this.child.exitCode === null) {
      try {
        process.kill(-this.child.pid, 'SIGINT');
      } catch {
        // already gone
      }
    }
  }
}
