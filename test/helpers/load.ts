import { Agent, get } from 'node:http';
import WebSocket from 'ws';
import { LOAD_RATE, pacedLoops } from './paced.js';

/**
 * One GET; a refused connection, a reset or a 5xx is a failure (its text), else null. 'retry': a kept-alive connection
 * the server closed as the request went out (nginx closes its idle ones at every reload) before any byte of an answer
 * came — the case RFC 9112 §9.3.1 lets a client retry for an idempotent request, as browsers and Node's own docs
 * (`request.reusedSocket`) do; the caller retries once on a fresh connection and counts it.
 */
function probe(port: number, path: string, agent: Agent | false): Promise<string | null | 'retry'> {
  return new Promise((resolve) => {
    let answered = false;
    const req = get({ host: '127.0.0.1', port, path, agent, timeout: 20_000 }, (res) => {
      answered = true;
      res.resume();
      res.on('end', () => resolve((res.statusCode ?? 0) >= 500 || (res.statusCode ?? 0) === 0 ? `HTTP ${res.statusCode}` : null));
      res.on('error', (e) => resolve(`response: ${e.message}`));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (!answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) resolve('retry');
      else resolve(`${e.code ?? ''} ${e.message}`);
    });
  });
}

export interface LoadResult {
  readonly ok: number;
  readonly failures: string[];
  /** Requests retried once on a fresh connection because their kept-alive one was closed under them (see probe). */
  readonly retried: number;
  /** WebSocket: echoes received, and whether it stayed open the whole time. */
  readonly wsEchoes: number;
  readonly wsOpen: boolean;
}

/**
 * Continuous load on one path: keep-alive clients (one Agent), one-request-per-connection clients (together at
 * `perSecond`, LOAD_RATE unless said), and a WebSocket that sends a message every 100 ms and counts the echoes; until
 * stop().
 */
export async function continuousLoad(port: number, path: string, wsPath: string, o: { keepAlive?: number; fresh?: number; perSecond?: number } = {}): Promise<{ stop(): Promise<LoadResult> }> {
  let ok = 0;
  let retried = 0;
  const failures: string[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 4 });
  const one = (a: Agent | false) => async (): Promise<void> => {
    let f = await probe(port, path, a);
    if (f === 'retry') {
      retried++;
      f = await probe(port, path, false);
    }
    if (f) failures.push(`${a ? 'keep-alive' : 'fresh'}: ${f}`);
    else ok++;
  };
  // The WebSocket first: if it cannot open, no HTTP loop is left running (it would keep the test's process alive).
  const ws = new WebSocket(`ws://127.0.0.1:${port}${wsPath}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', (e) => {
      agent.destroy();
      reject(new Error(`the load's WebSocket to ${wsPath} did not open: ${e.message}`));
    });
  });
  // Half the rate each way: kept-alive connections and a connection per request.
  const keep = o.keepAlive ?? 2;
  const fresh = o.fresh ?? 2;
  const rate = o.perSecond ?? LOAD_RATE;
  const loops = [pacedLoops(keep, one(agent), (rate * keep) / (keep + fresh)), pacedLoops(fresh, one(false), (rate * fresh) / (keep + fresh))];
  let wsOpen = true;
  let echoes = 0;
  ws.on('message', () => echoes++);
  ws.on('close', () => (wsOpen = false));
  ws.on('error', (e) => failures.push(`websocket: ${e.message}`));
  const ticker = setInterval(() => {
    if (ws.readyState === WebSocket.OPEN) ws.send(`tick ${Date.now()}`);
  }, 100);
  return {
    async stop() {
      clearInterval(ticker);
      await Promise.all(loops.map((l) => l.stop()));
      agent.destroy();
      const open = wsOpen && ws.readyState === WebSocket.OPEN;
      ws.close();
      return { ok, failures, retried, wsEchoes: echoes, wsOpen: open };
    },
  };
}
