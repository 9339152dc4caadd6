import { Agent, get } from 'node:http';
import WebSocket from 'ws';
import { runSsh } from '../../test/helpers/ssh.js';
import { sftpBatch } from '../../test/helpers/sftp.js';
import { dropTmpDir, tmpDir } from '../../test/helpers/tmp.js';

/** One client kind's totals: what went well, clean ends (reconnected), and failures with when they happened. */
export interface Totals {
  ok: number;
  cleanEnds: number;
  failures: { at: number; what: string }[];
}

const totals = (): Totals => ({ ok: 0, cleanEnds: 0, failures: [] });

export interface Clients {
  readonly totals: Record<string, Totals>;
  stop(): Promise<void>;
}

function httpGet(port: number, path: string, agent: Agent | false): Promise<string | null> {
  return new Promise((resolve) => {
    const req = get({ host: '127.0.0.1', port, path, agent, timeout: 30_000 }, (res) => {
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 500 ? `HTTP ${res.statusCode}` : null));
      res.on('error', (e) => resolve(`response: ${e.message}`));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => resolve(`${e.code ?? ''} ${e.message}`));
  });
}

/**
 * Continuous load until stop(): keep-alive and one-request-per-connection HTTP clients, a WebSocket echo and a
 * server-sent event stream (both reconnect after a clean close; a close without a close frame or a stream cut
 * mid-chunk is a failure), an SSH exec loop and an SFTP download loop (their failures are judged by the driver,
 * which knows when the ship was down).
 */
export function startClients(o: { httpPort: () => number; sshPort: () => number; key: string; path: string }): Clients {
  let running = true;
  const t: Record<string, Totals> = { 'http keep-alive': totals(), 'http fresh': totals(), websocket: totals(), sse: totals(), 'ssh exec': totals(), 'sftp get': totals() };
  const fail = (k: string, what: string): void => void (t[k] as Totals).failures.push({ at: Date.now(), what });
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  const http = (a: Agent | false, k: string) => async () => {
    while (running) {
      const f = await httpGet(o.httpPort(), o.path, a);
      if (f) fail(k, f);
      else (t[k] as Totals).ok++;
    }
  };
  const ws = async (): Promise<void> => {
    while (running) {
      await new Promise<void>((done) => {
        const s = new WebSocket(`ws://127.0.0.1:${o.httpPort()}${o.path}ws`);
        let tick: NodeJS.Timeout | null = null;
        let opened = false;
        s.on('open', () => {
          opened = true;
          tick = setInterval(() => s.readyState === WebSocket.OPEN && s.send(`tick ${Date.now()}`), 100);
        });
        s.on('message', () => t.websocket && t.websocket.ok++);
        s.on('error', (e) => fail('websocket', `error: ${e.message}`));
        s.on('close', (code) => {
          if (tick) clearInterval(tick);
          if (!running) return done();
          if (!opened) fail('websocket', 'did not open');
          else if (code === 1006 || code === 1005) fail('websocket', `closed without a close frame (${code})`);
          else (t.websocket as Totals).cleanEnds++;
          setTimeout(done, 200);
        });
        const stopper = setInterval(() => {
          if (!running) {
            clearInterval(stopper);
            s.close();
          }
        }, 200);
        s.once('close', () => clearInterval(stopper));
      });
    }
  };
  let sseReq: ReturnType<typeof get> | null = null;
  const sse = async (): Promise<void> => {
    while (running) {
      await new Promise<void>((done) => {
        const req = (sseReq = get({ host: '127.0.0.1', port: o.httpPort(), path: `${o.path}events`, agent: false }, (res) => {
          if (res.statusCode !== 200) fail('sse', `HTTP ${res.statusCode}`);
          res.on('data', () => t.sse && t.sse.ok++);
          res.on('error', () => undefined);
          res.on('close', () => {
            if (running) {
              if (res.complete) (t.sse as Totals).cleanEnds++;
              else fail('sse', 'stream cut mid-chunk (no terminating chunk)');
            }
            setTimeout(done, 200);
          });
        }));
        req.on('error', (e) => {
          if (running) fail('sse', `request: ${e.message}`);
          setTimeout(done, 200);
        });
      });
    }
  };
  const ssh = async (): Promise<void> => {
    while (running) {
      const r = await runSsh({ key: o.key, port: o.sshPort(), args: ['echo', 'soak'], timeoutMs: 60_000 });
      if (r.code === 0 && r.stdout.toString() === 'soak\n') (t['ssh exec'] as Totals).ok++;
      else fail('ssh exec', `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
    }
  };
  const sftp = async (): Promise<void> => {
    while (running) {
      // Its own download dir each time, removed at once: thousands of them were left for the exit to remove.
      const cwd = tmpDir('sp-soak-sftp-');
      const r = await sftpBatch({ key: o.key, port: o.sshPort(), lines: ['get /configs/app.json'], timeoutMs: 60_000, cwd }).finally(() => dropTmpDir(cwd));
      if (r.code === 0) (t['sftp get'] as Totals).ok++;
      else fail('sftp get', `exit ${r.code}: ${r.stderr.trim().slice(0, 200)}`);
    }
  };
  const loops = [http(agent, 'http keep-alive')(), http(agent, 'http keep-alive')(), http(false, 'http fresh')(), http(false, 'http fresh')(), ws(), sse(), ssh(), sftp()];
  return {
    totals: t,
    async stop() {
      running = false;
      sseReq?.destroy();
      await Promise.all(loops);
      agent.destroy();
    },
  };
}
