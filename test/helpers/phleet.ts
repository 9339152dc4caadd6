import { execFile } from 'node:child_process';
import { cpSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { callShip } from '../../src/commands/control/control-client.js';
import { FIXTURES } from './fixtures.js';
import { commit } from './git.js';
import { CLI_ARGS } from './cli-entry.js';
import { waitFor } from './wait.js';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

export interface CliResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the real `starphleet` CLI from the sources (it talks to the running ship through its control socket). */
export function cli(dataDir: string, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI_ARGS, ...args, '--data', dataDir], { cwd: ROOT, timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

export interface ServiceRow {
  readonly name: string;
  readonly mount: string;
  readonly sha: string | null;
  readonly state: string;
  readonly release: string | null;
  readonly url: string | null;
  readonly message: string;
}

/**
 * `starphleet status --json`, the services part, asked through the ship's control socket from this process exactly
 * as the CLI asks it (callShip is what the CLI runs). Tests poll this in their waits: a CLI process per poll loaded
 * the machine more than the ships under test; the CLI itself is driven by cli() wherever a test asserts on it.
 */
export async function statusJson<T = { services: ServiceRow[] }>(dataDir: string): Promise<T> {
  // A ship just started may not listen on its control socket yet (it logs before it does): asked again for up to
  // 60 s, as a CLI process's own start-up used to cover.
  const deadline = Date.now() + 60_000;
  for (;;) {
    let stdout = '';
    let stderr = '';
    const code = await callShip(dataDir, ['status', '--json'], { out: (s) => (stdout += s), err: (s) => (stderr += s) });
    if (code === 0) return JSON.parse(stdout) as T;
    if (!/no ship is running/.test(stderr) || Date.now() > deadline) throw new Error(`starphleet status failed (${code}): ${stderr}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/** The services part of statusJson. */
export async function statusServices(dataDir: string): Promise<ServiceRow[]> {
  return (await statusJson(dataDir)).services;
}

export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** A plain GET through the front door. */
export async function httpGet(port: number, path: string): Promise<Answer> {
  const r = await fetch(`http://127.0.0.1:${port}${path}`, { redirect: 'manual' });
  return { status: r.status, body: await r.text() };
}

/** Makes the repo's tree exactly the fixture's (files not in it removed), commits, returns the sha. */
export function commitFixture(repo: string, fixture: string, extra: Record<string, string> = {}): string {
  for (const name of readdirSync(repo)) if (name !== '.git') rmSync(join(repo, name), { recursive: true, force: true });
  cpSync(join(FIXTURES, fixture), repo, { recursive: true });
  return commit(repo, extra, `fixture ${fixture}`);
}

/** The body of `path` once it answers 200 with a body matching `re` (waited for up to timeoutMs). */
export function servedBody(port: number, path: string, re: RegExp, what: string, timeoutMs: number, intervalMs = 250): Promise<string> {
  return waitFor(
    async () => {
      const r = await httpGet(port, path);
      return r.status === 200 && re.test(r.body) ? r.body : null;
    },
    `${what} at ${path}`,
    timeoutMs,
    intervalMs,
  );
}
