import { Agent } from 'node:http';

/**
 * One instance as the front door sees it: where it listens and how many requests it is answering right now.
 * The counter is what a switch waits on before it stops an old instance.
 */
export class Backend {
  inflight = 0;
  /** Kept-alive connections to this instance only, so retiring it closes exactly its sockets. */
  readonly agent: Agent;
  private waiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly port: number,
  ) {
    // Idle sockets are dropped before a typical server's keep-alive timeout (node: 5 s) closes them under us.
    this.agent = new Agent({ keepAlive: true, maxSockets: 256, timeout: 4000 });
  }

  begin(): void {
    this.inflight++;
  }

  end(): void {
    this.inflight--;
    if (this.inflight === 0) for (const w of this.waiters.splice(0)) w();
  }

  /** Resolves true once no request is in flight, false if timeoutMs passed first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.inflight === 0) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        resolve(true);
      };
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== done);
        resolve(false);
      }, timeoutMs);
      this.waiters.push(done);
    });
  }

  close(): void {
    this.agent.destroy();
  }
}
