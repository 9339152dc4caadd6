import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { authWorkers } from '../../settings/dataplane-settings.js';

/** Threads that check hashes (STARPHLEET_AUTH_WORKERS, default 1: one core stays free for everything else). */
function workerCount(env: NodeJS.ProcessEnv): number {
  return authWorkers(env);
}

/** Checks waiting beyond this many are refused at once (the client gets a 503), so a flood cannot queue without end. */
const MAX_WAITING = 64;

const FROM_SOURCE = import.meta.url.endsWith('.ts');
const require = createRequire(import.meta.url);
const WORKER_URL = new URL(FROM_SOURCE ? './hash-worker.ts' : './hash-worker.js', import.meta.url);
/**
 * Run from the sources, the worker loads its TypeScript through tsx's require hook: on Node 20 a worker gets neither the
 * --import hooks of its process nor, for its entry file, those of its own execArgv.
 */
function newWorker(): Worker {
  if (!FROM_SOURCE) return new Worker(WORKER_URL);
  const code = `require(${JSON.stringify(require.resolve('tsx/cjs'))}); require(${JSON.stringify(fileURLToPath(WORKER_URL))});`;
  return new Worker(code, { eval: true });
}

interface Job {
  readonly hash: string;
  readonly password: Buffer;
  readonly resolve: (ok: boolean | 'busy') => void;
}

/**
 * Password hash checks off the main thread: a small pool of worker threads, one check per worker at a time and a
 * bounded queue. A flood of wrong passwords then costs at most those threads, never the event loop that proxies every
 * other request.
 */
export class HashChecks {
  private readonly idle: Worker[] = [];
  private readonly all: Worker[] = [];
  private readonly queue: Job[] = [];
  private readonly pending = new Map<Worker, Job>();
  private readonly size: number;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.size = workerCount(env);
  }

  private spawn(): Worker {
    const w = newWorker();
    w.unref();
    w.on('message', (m: { ok: boolean }) => {
      const job = this.pending.get(w);
      this.pending.delete(w);
      job?.resolve(m.ok === true);
      this.next(w);
    });
    w.on('error', () => {
      // A dead worker fails its check closed and is replaced on demand.
      this.pending.get(w)?.resolve(false);
      this.pending.delete(w);
      this.all.splice(this.all.indexOf(w), 1);
    });
    this.all.push(w);
    return w;
  }

  private next(w: Worker): void {
    const job = this.queue.shift();
    if (!job) {
      this.idle.push(w);
      return;
    }
    this.pending.set(w, job);
    w.postMessage({ id: 0, hash: job.hash, password: job.password });
  }

  /** true/false: the hash matched or not; 'busy': too many checks waiting, none was made. */
  check(hash: string, password: Buffer): Promise<boolean | 'busy'> {
    return new Promise((resolve) => {
      const job: Job = { hash, password, resolve };
      const w = this.idle.pop() ?? (this.all.length < this.size ? this.spawn() : null);
      if (w) {
        this.pending.set(w, job);
        w.postMessage({ id: 0, hash, password });
      } else if (this.queue.length >= MAX_WAITING) resolve('busy');
      else this.queue.push(job);
    });
  }

  async close(): Promise<void> {
    for (const j of this.queue.splice(0)) j.resolve(false);
    await Promise.all(this.all.map((w) => w.terminate()));
  }
}
