import { Agent } from 'node:http';
import WebSocket from 'ws';
import { getText, isReusedConnectionClosed } from './http.js';
import { sleep } from './wait.js';

/** One request of the load: when it went out, when its answer was whole, what it was, which release answered it. */
export interface Sample {
  readonly sentAt: number;
  readonly doneAt: number;
  readonly status: number;
  /** The stream-app's GREETING of the instance that answered ('' for an answer of the front door itself). */
  readonly greeting: string;
  readonly error: string | null;
  readonly body: string;
}

/**
 * Continuous load on a path that records every request: `keepAlive` clients on one kept-alive agent and `fresh` ones
 * opening a connection per request, each pacing itself to `everyMs` between requests; and a WebSocket that must stay
 * open throughout (it echoes). A GET sent on a kept-alive connection the server closed before answering a byte (nginx
 * does at each reload) is sent again once on a new connection, as browsers do (RFC 9112 9.3.1), and counted.
 */
export class TrafficLoad {
  readonly samples: Sample[] = [];
  retried = 0;
  wsOpen = true;
  wsEchoes = 0;
  private running = true;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 8 });
  private readonly loops: Promise<void>[];
  private ws: WebSocket | null = null;

  constructor(
    private readonly port: number,
    private readonly path: string,
    o: { keepAlive?: number; fresh?: number; everyMs?: number } = {},
  ) {
    const every = o.everyMs ?? 20;
    const loop = (agent: Agent | false) => async (): Promise<void> => {
      while (this.running) {
        const sentAt = Date.now();
        let r = await getText(this.port, this.path, agent);
        if (isReusedConnectionClosed(r)) {
          this.retried++;
          r = await getText(this.port, this.path, false);
        }
        const doneAt = Date.now();
        if (r instanceof Error) this.samples.push({ sentAt, doneAt, status: 0, greeting: '', error: r.message, body: '' });
        else this.samples.push({ sentAt, doneAt, status: r.status, greeting: /"greeting":"([^"]*)"/.exec(r.body)?.[1] ?? '', error: null, body: r.body.slice(0, 300) });
        await sleep(every);
      }
    };
    this.loops = [...Array.from({ length: o.keepAlive ?? 2 }, () => loop(this.agent)()), ...Array.from({ length: o.fresh ?? 2 }, () => loop(false)())];
  }

  /** Opens the WebSocket (the load's HTTP loops run already). */
  async openWebSocket(wsPath: string): Promise<void> {
    const ws = (this.ws = new WebSocket(`ws://127.0.0.1:${this.port}${wsPath}`));
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    ws.on('message', () => this.wsEchoes++);
    ws.on('close', () => (this.wsOpen = false));
    const t = setInterval(() => (ws.readyState === WebSocket.OPEN ? ws.send('tick') : clearInterval(t)), 200);
    ws.once('close', () => clearInterval(t));
  }

  /** Answers that are failures: no answer, or a status of 500 or more (unless `allowed` says it is expected). */
  failures(allowed: (s: Sample) => boolean = () => false): Sample[] {
    return this.samples.filter((s) => (s.error !== null || s.status >= 500 || s.status === 0) && !allowed(s));
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.agent.destroy();
    this.ws?.close();
  }
}

/** Percentile of a list of numbers (0-100). */
export function percentile(xs: readonly number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number;
}
