import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor } from './wait.js';

/** What `git daemon --verbose` said it served: one entry per request (`upload-pack` or `receive-pack`, the path). */
export interface DaemonRequest {
  readonly at: number;
  readonly service: string;
  readonly path: string;
  readonly from: string;
}

export interface GitDaemon {
  readonly port: number;
  readonly host: string;
  /** git://host:port/<path under the base>. */
  url(path: string): string;
  /** Every request so far (ls-remote, fetch and clone are upload-pack; push is receive-pack). */
  requests(): readonly DaemonRequest[];
  stop(): Promise<void>;
}

/**
 * A real `git daemon` serving every repository under `base` (pushes too: receive-pack on), with each request read from
 * its --verbose log: the count of requests a phleet makes to its git host is measured at the server, as a host would.
 */
export async function startGitDaemon(base: string, o: { host?: string; port: number }): Promise<GitDaemon> {
  const host = o.host ?? '127.0.0.1';
  const child: ChildProcess = spawn('git', ['daemon', '--verbose', '--reuseaddr', '--export-all', '--enable=receive-pack', `--base-path=${base}`, `--listen=${host}`, `--port=${o.port}`, '--max-connections=0', base], { stdio: ['ignore', 'ignore', 'pipe'] });
  const requests: DaemonRequest[] = [];
  const peers = new Map<string, string>();
  let ready = false;
  let rest = '';
  child.stderr?.on('data', (b: Buffer) => {
    const lines = (rest + b.toString()).split('\n');
    rest = lines.pop() ?? '';
    for (const line of lines) {
      if (/Ready to rumble/.test(line)) ready = true;
      const conn = /^\[(\d+)\] Connection from (\S+)/.exec(line);
      if (conn) peers.set(conn[1] as string, (conn[2] as string).replace(/:\d+$/, ''));
      const req = /^\[(\d+)\] Request (\S+) for '([^']*)'/.exec(line);
      if (req) requests.push({ at: Date.now(), service: req[2] as string, path: req[3] as string, from: peers.get(req[1] as string) ?? '?' });
    }
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(() => ready, `git daemon on ${host}:${o.port}`, 15_000, 50);
  return {
    port: o.port,
    host,
    url: (path) => `git://${host}:${o.port}/${path.replace(/^\//, '')}`,
    requests: () => requests,
    async stop() {
      child.kill('SIGTERM');
      await exited;
    },
  };
}
