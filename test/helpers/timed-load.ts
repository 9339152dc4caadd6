import { Agent, get } from 'node:http';
import { LOAD_RATE, pacedLoops } from './paced.js';

/** One answer of the load: when it came, its status (0: no answer), and the error or 5xx that makes it a failure. */
export interface Sample {
  readonly at: number;
  readonly status: number;
  readonly body: string;
  readonly failure: string | null;
}

function once(host: string, port: number, path: string, agent: Agent | false): Promise<Sample | 'retry'> {
  return new Promise((resolve) => {
    let answered = false;
    const req = get({ host, port, path, agent, timeout: 30_000 }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body.length < 4096 ? (body += c) : undefined));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        resolve({ at: Date.now(), status, body, failure: status >= 500 || status === 0 ? `HTTP ${status}` : null });
      });
      res.on('error', (e) => resolve({ at: Date.now(), status: 0, body: '', failure: `response: ${e.message}` }));
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      // A kept-alive connection the server closed as the request went out: retried once on a fresh one (RFC 9112
      // §9.3.1, as test/helpers/load.ts does).
      if (!answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) resolve('retry');
      else resolve({ at: Date.now(), status: 0, body: '', failure: `${e.code ?? ''} ${e.message}` });
    });
  });
}

/**
 * Continuous GETs of one path from `clients` loops (half kept-alive, half a connection per request; together at
 * `perSecond`, LOAD_RATE unless said), every answer
 * kept with its time: a test reads when a ship stopped serving a service (its first 404) and whether anything failed
 * (a refused or reset connection, a 5xx). Until stop().
 */
export function timedLoad(port: number, path: string, o: { host?: string; clients?: number; perSecond?: number } = {}): { samples: Sample[]; stop(): Promise<Sample[]> } {
  const samples: Sample[] = [];
  const agent = new Agent({ keepAlive: true, maxSockets: 8 });
  const one = (a: Agent | false) => async (): Promise<void> => {
    const first = await once(o.host ?? '127.0.0.1', port, path, a);
    // A fresh connection is never a reused one: it cannot ask for a retry.
    const s = first === 'retry' ? ((await once(o.host ?? '127.0.0.1', port, path, false)) as Sample) : first;
    samples.push(s);
    // A refused connection answers at once: a short pause keeps a stopped front door from spinning the loop.
    if (s.status === 0) await new Promise((r) => setTimeout(r, 50));
  };
  const n = o.clients ?? 4;
  const kept = Math.ceil(n / 2);
  const rate = o.perSecond ?? LOAD_RATE;
  const loops = [pacedLoops(kept, one(agent), (rate * kept) / n), ...(n > kept ? [pacedLoops(n - kept, one(false), (rate * (n - kept)) / n)] : [])];
  return {
    samples,
    async stop() {
      await Promise.all(loops.map((l) => l.stop()));
      agent.destroy();
      return samples;
    },
  };
}
