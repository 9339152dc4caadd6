import { Agent, get } from 'node:http';

/** One answer a ship gave the load client. */
export interface ProbeSample {
  readonly at: number;
  readonly status: number;
  /** The service's GREETING (its JSON answer), or null. */
  readonly greeting: string | null;
  readonly failure: string | null;
}

/**
 * A load client for one ship: GETs `path` every `everyMs` over a kept-alive connection (a refused or reset
 * connection and a 5xx are failures; a kept-alive connection closed under a request is retried once on a new one, as
 * RFC 9112 §9.3.1 allows), keeping every answer with its time: when a greeting first shows is when it served it.
 */
export class ShipProbe {
  readonly samples: ProbeSample[] = [];
  private running = true;
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 1 });
  private readonly loop: Promise<void>;

  constructor(
    readonly host: string,
    readonly port: number,
    readonly path: string,
    private readonly everyMs = 200,
  ) {
    this.loop = this.run();
  }

  private once(agent: Agent | false): Promise<ProbeSample | 'retry'> {
    return new Promise((resolve) => {
      let answered = false;
      const req = get({ host: this.host, port: this.port, path: this.path, agent, timeout: 20_000 }, (res) => {
        answered = true;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body.length < 8192 ? (body += c) : undefined));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          let greeting: string | null = null;
          try {
            greeting = status === 200 ? String((JSON.parse(body) as { greeting?: unknown }).greeting ?? '') : null;
          } catch {
            greeting = null;
          }
          resolve({ at: Date.now(), status, greeting, failure: status >= 500 ? `HTTP ${status}` : null });
        });
        res.on('error', (e) => resolve({ at: Date.now(), status: 0, greeting: null, failure: `response: ${e.message}` }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', (e: NodeJS.ErrnoException) => {
        if (!answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) resolve('retry');
        else resolve({ at: Date.now(), status: 0, greeting: null, failure: `${e.code ?? ''} ${e.message}`.trim() });
      });
    });
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t0 = Date.now();
      const first = await this.once(this.agent);
      // A fresh connection is never a reused one: it cannot ask for a retry.
      const s = first === 'retry' ? ((await this.once(false)) as ProbeSample) : first;
      this.samples.push(s);
      const wait = this.everyMs - (Date.now() - t0);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }

  /** When this ship first answered with the greeting at or after `since` (ms), or null. */
  firstServed(greeting: string, since: number): number | null {
    return this.samples.find((s) => s.at >= since && s.greeting === greeting)?.at ?? null;
  }

  failuresBetween(from: number, to: number): ProbeSample[] {
    return this.samples.filter((s) => s.failure !== null && s.at >= from && s.at <= to);
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    this.agent.destroy();
  }
}
