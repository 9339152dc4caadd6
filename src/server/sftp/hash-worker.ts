import { Worker } from 'node:worker_threads';

/**
 * SHA-256 of an upload, computed on a worker thread while the bytes arrive: on the main thread, hashing was the
 * largest single cost of an upload (~19 % of its CPU, 0.8 s per GiB here) and held up every other session. One worker
 * serves every upload of the ship, in order per upload; it is made on first use and does not keep the process alive.
 *
 * A WRITE's data sits in shared memory (wire.ts PacketReader): the worker reads it where it is, and update() resolves
 * once it has, which is when the packet's buffer may be reused. Data elsewhere is copied into the message.
 */

const WORKER = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const hashes = new Map();
parentPort.on('message', (m) => {
  if (m.data) {
    let h = hashes.get(m.id);
    if (!h) hashes.set(m.id, (h = createHash('sha256')));
    h.update(new Uint8Array(m.data, m.offset, m.length));
    parentPort.postMessage({ id: m.id });
  } else if (m.end) {
    const h = hashes.get(m.id) || createHash('sha256');
    hashes.delete(m.id);
    parentPort.postMessage({ id: m.id, hex: h.digest('hex') });
  } else hashes.delete(m.id);
});
`;

interface Reply {
  readonly id: number;
  readonly hex?: string;
}

let worker: Worker | null = null;
let nextId = 1;
const streams = new Map<number, Sha256Stream>();

function theWorker(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER, { eval: true });
  w.unref();
  w.on('message', (m: Reply) => streams.get(m.id)?.onReply(m));
  const fail = (e: Error): void => {
    if (worker === w) worker = null;
    for (const s of streams.values()) s.onFailure(e);
    streams.clear();
  };
  w.on('error', fail);
  w.on('exit', (code) => fail(new Error(`the hash worker exited (${code})`)));
  worker = w;
  return w;
}

export class Sha256Stream {
  private readonly id = nextId++;
  /** One per update() not yet hashed, in order. */
  private readonly waiting: (() => void)[] = [];
  private done: { resolve: (hex: string) => void; reject: (e: Error) => void } | null = null;
  private failed: Error | null = null;
  private readonly w = theWorker();

  constructor() {
    streams.set(this.id, this);
  }

  /** Adds bytes; resolves once the worker has read them (until then `data` must not change). */
  update(data: Buffer): Promise<void> {
    if (this.failed) return Promise.resolve();
    if (data.buffer instanceof SharedArrayBuffer) {
      this.w.postMessage({ id: this.id, data: data.buffer, offset: data.byteOffset, length: data.length });
    } else {
      const copy = new Uint8Array(data);
      this.w.postMessage({ id: this.id, data: copy.buffer, offset: 0, length: copy.length }, [copy.buffer]);
    }
    return new Promise((resolve) => this.waiting.push(resolve));
  }

  /** The hex digest of everything added; rejects if the worker failed (the caller then hashes the file itself). */
  digest(): Promise<string> {
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => {
      this.done = { resolve, reject };
      this.w.postMessage({ id: this.id, end: true });
    });
  }

  /** The upload was abandoned (what was sent may still be read by the worker until it gets this). */
  drop(): void {
    if (!streams.delete(this.id)) return;
    this.w.postMessage({ id: this.id, drop: true });
    for (const r of this.waiting.splice(0)) r();
  }

  onReply(m: Reply): void {
    if (m.hex !== undefined) {
      streams.delete(this.id);
      this.done?.resolve(m.hex);
    } else this.waiting.shift()?.();
  }

  onFailure(e: Error): void {
    this.failed = e;
    for (const r of this.waiting.splice(0)) r();
    this.done?.reject(e);
  }
}
