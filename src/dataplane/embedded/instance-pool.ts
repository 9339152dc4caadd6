import { createRequire } from 'node:module';
import type { Pool as UndiciPool } from 'undici';
import type { ConnKind, OpenCounts } from './backend.js';
import type { Upstream } from '../protocol/upstream.js';

/** One open exchange with an instance: done() when it ends by itself, close() ends it from our side (drain timeout). */
export interface Tracked {
  kind: ConnKind;
  close: () => void;
  done(): void;
}

// The Pool class from its own file: undici's index loads all of undici (fetch, WebSocket, caches, mocks: 0.09 CPU-s
// of every plane's start here, against 0.03), and a Pool dispatch()es without the API methods the index adds to it.
// The path is undici's layout, which package.json pins to one version.
const Pool = createRequire(import.meta.url)('undici/lib/dispatcher/pool.js') as typeof UndiciPool;
type Pool = UndiciPool;

/** Connections kept per instance; an idle one is dropped before a typical server's keep-alive timeout (node: 5 s). */
const CONNECTIONS = 256;
const KEEP_ALIVE_MS = 4000;

function newPool(u: Upstream): Pool {
  const opts = { connections: CONNECTIONS, keepAliveTimeout: KEEP_ALIVE_MS, keepAliveMaxTimeout: KEEP_ALIVE_MS, pipelining: 1 };
  if (u.kind === 'unix') return new Pool('http://localhost', { ...opts, socketPath: u.path });
  const host = u.host.includes(':') ? `[${u.host}]` : u.host;
  return new Pool(`http://${host}:${u.port}`, opts);
}

/**
 * One instance inside the embedded data plane: an undici Pool of kept-alive connections to it (node:http's client
 * was the ceiling of the old front door: undici's is about 1.5x faster) and what is open to it right now. A request
 * counts from the moment its route is matched (even while its password is checked), so a drain waits for it.
 */
export class InstancePool {
  private pool: Pool;
  private readonly open = new Set<Tracked>();
  private waiters: (() => void)[] = [];
  private closed = false;

  constructor(
    readonly id: string,
    readonly upstream: Upstream,
  ) {
    this.pool = newPool(upstream);
  }

  get dispatcher(): Pool {
    return this.pool;
  }

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

  /**
   * Closes the idle kept-alive connections: undici has no call for idle ones only, so requests from now on get a fresh
   * pool and the old one closes gracefully (each of its connections once its request is answered).
   */
  closeIdle(): void {
    if (this.closed) return;
    const old = this.pool;
    this.pool = newPool(this.upstream);
    void old.close().catch(() => undefined);
  }

  destroy(): void {
    this.closed = true;
    void this.pool.destroy().catch(() => undefined);
  }
}
