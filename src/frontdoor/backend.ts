import { Agent } from 'node:http';
import type { Upstream } from './upstream.js';

/** What a connection through the front door to an instance is: a plain request, an event stream, an upgrade. */
export type ConnKind = 'request' | 'stream' | 'upgrade';

/** One open exchange with an instance: done() when it ends by itself, close() ends it from our side (drain timeout). */
export interface Tracked {
  kind: ConnKind;
  readonly close: () => void;
  done(): void;
}

export interface OpenCounts {
  readonly requests: number;
  readonly streams: number;
  readonly upgrades: number;
}

/**
 * One instance as the front door sees it: where it listens and what is open to it right now (requests, server-sent
 * event streams, WebSockets). A switch waits for all of them to end before it stops an old instance, and closes the
 * long-lived ones that outlast the drain timeout.
 */
export class Backend {
  private readonly open = new Set<Tracked>();
  /** Kept-alive connections to this instance only, so retiring it closes exactly its sockets. */
  readonly agent: Agent;
  private waiters: (() => void)[] = [];

  constructor(
    readonly id: string,
    readonly upstream: Upstream,
  ) {
    // Idle sockets are dropped before a typical server's keep-alive timeout (node: 5 s) closes them under us.
    this.agent = new Agent({ keepAlive: true, maxSockets: 512, maxFreeSockets: 256, timeout: 4000, scheduling: 'lifo' });
  }

  /** Everything open to this instance: requests in flight, streams and upgraded connections. */
  get inflight(): number {
    return this.open.size;
  }

  counts(): OpenCounts {
    let requests = 0;
    let streams = 0;
    let upgrades = 0;
    for (const t of this.open) {
      if (t.kind === 'request') requests++;
      else if (t.kind === 'stream') streams++;
      else upgrades++;
    }
    return { requests, streams, upgrades };
  }

  track(kind: ConnKind, close: () => void): Tracked {
    const open = this.open;
    const t: Tracked = {
      kind,
      close,
      done: () => {
        if (open.delete(t) && open.size === 0) for (const w of this.waiters.splice(0)) w();
      },
    };
    open.add(t);
    return t;
  }

  /** Resolves true once nothing is open to the instance, false if timeoutMs passed first. */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.open.size === 0) return Promise.resolve(true);
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

  /** Ends everything still open (the drain timeout passed); returns how many were closed. */
  closeAll(): number {
    const all = [...this.open];
    for (const t of all) {
      t.close();
      t.done();
    }
    return all.length;
  }

  close(): void {
    this.agent.destroy();
  }
}

export function describeCounts(c: OpenCounts): string {
  const parts: string[] = [];
  if (c.requests) parts.push(`${c.requests} request${c.requests === 1 ? '' : 's'}`);
  if (c.streams) parts.push(`${c.streams} event stream${c.streams === 1 ? '' : 's'}`);
  if (c.upgrades) parts.push(`${c.upgrades} upgraded connection${c.upgrades === 1 ? '' : 's'} (WebSocket)`);
  return parts.join(', ') || 'nothing';
}
