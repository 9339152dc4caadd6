import { spawn, type ChildProcess } from 'node:child_process';
import type { Release } from '../../src/agent/types.js';
import { instanceScript } from '../../src/agent/runtime/runtime.js';
import { freePort } from './ship.js';
import { waitFor } from './wait.js';

export interface RunningRelease {
  readonly port: number;
  readonly child: ChildProcess;
  output(): string;
  get(path: string): Promise<{ status: number; body: string }>;
  stop(): Promise<void>;
}

/**
 * Starts a built release's web command the plain way (bash in the release dir, its env plus PORT) and waits until its
 * healthcheck path answers 200. Only to prove a build runs: the real runtime is the agent's.
 */
export async function runRelease(release: Release, timeoutMs = 20_000): Promise<RunningRelease> {
  const port = await freePort();
  // As the runtime runs it: .profile.d first (buildpacks put PATH there), then the command.
  const child = spawn('bash', ['-c', instanceScript(release.config.command)], {
    cwd: release.dir,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: release.dir, ...release.config.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr?.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const get = async (path: string): Promise<{ status: number; body: string }> => {
    const res = await fetch(`http://127.0.0.1:${port}${path}`);
    return { status: res.status, body: await res.text() };
  };
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    try {
      process.kill(-(child.pid as number), 'SIGKILL');
    } catch {
      // Gone already.
    }
    await exited;
  };
  try {
    await waitFor(async () => {
      if (child.exitCode !== null) throw new Error(`exited with ${child.exitCode}: ${out}`);
      return (await get(release.config.healthcheck)).status === 200;
    }, `${release.config.command} to answer 200 on ${release.config.healthcheck}`, timeoutMs);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n--- output ---\n${out}`);
  }
  return { port, child, output: () => out, get, stop };
}
