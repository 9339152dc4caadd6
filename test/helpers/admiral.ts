import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestKey } from './keys.js';
import { tmpDir } from './tmp.js';
import { waitFor } from './wait.js';
import { CLI_ARGS } from './cli-entry.js';


/**
 * An admiral's laptop in a temp HOME: ~/.ssh/config gives the key (ssh reads the passwd home, not $HOME, so the
 * CLI is pointed at that config with STARPHLEET_SSH_COMMAND='ssh -F ...'), and `shipalias` is a Host entry there.
 */
export interface Laptop {
  readonly home: string;
  readonly configDir: string;
  readonly env: NodeJS.ProcessEnv;
}

export function makeLaptop(key: TestKey): Laptop {
  const home = tmpDir('sp-laptop-');
  mkdirSync(join(home, '.ssh'), { mode: 0o700 });
  const config = join(home, '.ssh', 'config');
  writeFileSync(
    config,
    `Host shipalias\n  HostName 127.0.0.1\n\nHost *\n  IdentityFile ${key.privatePath}\n  IdentitiesOnly yes\n  BatchMode yes\n  LogLevel ERROR\n  ConnectTimeout 20\n`,
    { mode: 0o600 },
  );
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, STARPHLEET_SSH_COMMAND: `ssh -F ${config}`, GIT_CONFIG_NOSYSTEM: '1' };
  for (const k of ['XDG_CONFIG_HOME', 'STARPHLEET_TARGET', 'STARPHLEET_DATA', 'GIT_SSH_COMMAND', 'GIT_SSH']) delete env[k];
  return { home, configDir: join(home, '.config', 'starphleet'), env };
}

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

let runs = 0;

/** `starphleet <args>` from the sources, as the laptop's user; output through files (pipes once lost lines). */
export function admiral(laptop: Laptop, args: readonly string[], o: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {}): Promise<CliRun> {
  const dir = tmpDir('sp-admiral-out-');
  const n = ++runs;
  const outPath = join(dir, `out-${n}`);
  const errPath = join(dir, `err-${n}`);
  const out = openSync(outPath, 'w');
  const err = openSync(errPath, 'w');
  const child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd: o.cwd ?? laptop.home, env: { ...laptop.env, ...o.env }, stdio: ['ignore', out, err] });
  const timer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 60_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      closeSync(out);
      closeSync(err);
      resolve({ code, stdout: readFileSync(outPath, 'utf8'), stderr: readFileSync(errPath, 'utf8') });
    });
  });
}

/** The command line to run the CLI (for node-pty, which spawns it itself). */
export function cliArgv(args: readonly string[]): [string, string[]] {
  return [process.execPath, [...CLI_ARGS, ...args]];
}

/** A CLI run that keeps going (push), read as it prints; in its own process group, so interrupt() is Ctrl-C. */
export class LiveCli {
  readonly child: ChildProcess;
  readonly exited: Promise<number | null>;
  private text_ = '';

  constructor(laptop: Laptop, args: readonly string[], cwd: string) {
    this.child = spawn(process.execPath, [...CLI_ARGS, ...args], { cwd, env: laptop.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child.stdout?.on('data', (b: Buffer) => (this.text_ += b.toString('utf8')));
    this.child.stderr?.on('data', (b: Buffer) => (this.text_ += b.toString('utf8')));
    this.exited = new Promise((r) => this.child.once('close', (code) => r(code)));
  }

  text(): string {
    return this.text_;
  }

  waitFor(re: RegExp, timeoutMs = 180_000): Promise<RegExpMatchArray> {
    return waitFor(
      () => {
        const m = this.text_.match(re);
        if (!m && this.child.exitCode !== null) throw new Error(`exited ${this.child.exitCode} before ${re}`);
        return m;
      },
      () => `${re} in:\n${this.text_}`,
      timeoutMs,
    );
  }

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

/** The ship's ed25519 host key fingerprint, read the way an admiral on the ship would (ssh-keygen -lf). */
export function shipFingerprint(dataDir: string): string {
  return execFileSync('ssh-keygen', ['-lf', join(dataDir, 'host_keys', 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).split(' ')[1] as string;
}
