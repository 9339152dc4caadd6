import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { dataPaths } from '../data-dir/data-paths.js';
import type { Logger } from '../log.js';
import { loadCursors, saveCursors, type Cursor } from './cursors.js';
import { listLogFiles, type LogFileMeta } from './log-files.js';
import { formatMessage, octetFrame } from './rfc5424.js';
import type { SinkTarget } from './target.js';
import { openTcp, openUdp, type Transport } from './transport.js';

export interface LogSinkOptions {
  readonly dataDir: string;
  readonly ship: string;
  readonly log: Logger;
  /** A line counts as received once its connection stayed up this long after it was written (TCP has no app ack). */
  readonly confirmMs: number;
  readonly pollMs?: number;
}

interface FileState {
  meta: LogFileMeta;
  /** Everything before this the receiver counts as having (see confirmMs). */
  confirmed: Cursor;
  /** Everything before this was written to the current connection. */
  sent: Cursor;
}

interface Batch {
  readonly file: FileState;
  readonly upTo: Cursor;
  readonly at: number;
}

const CHUNK = 256 * 1024;
const MAX_BACKLOG = 1024 * 1024;
const RETRY_MIN_MS = 500;
const RETRY_MAX_MS = 30_000;
const SAVE_EVERY_MS = 1000;

/** Counts newlines (the lines a file holds so far) without holding the file in memory. */
async function countLines(path: string, upTo: number): Promise<number> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return 0;
  try {
    const buf = Buffer.alloc(CHUNK);
    let n = 0;
    for (let pos = 0; pos < upTo; ) {
      const { bytesRead } = await fh.read(buf, 0, Math.min(CHUNK, upTo - pos), pos);
      if (bytesRead === 0) break;
      for (let i = 0; i < bytesRead; i++) if (buf[i] === 10) n++;
      pos += bytesRead;
    }
    return n;
  } finally {
    await fh.close();
  }
}

/** Whole lines of path from `from` (at most CHUNK bytes; a longer line without newline counts as one). */
async function readLines(path: string, from: number, size: number): Promise<{ lines: string[]; end: number }> {
  const fh = await open(path, 'r').catch(() => null);
  if (!fh) return { lines: [], end: from };
  try {
    const len = Math.min(CHUNK, size - from);
    const buf = Buffer.alloc(len);
    const { bytesRead } = await fh.read(buf, 0, len, from);
    const data = buf.subarray(0, bytesRead);
    const last = data.lastIndexOf(10);
    if (last < 0) return bytesRead === CHUNK ? { lines: [data.toString('utf8')], end: from + bytesRead } : { lines: [], end: from };
    const lines = data.subarray(0, last).toString('utf8').split('\n').map((l) => l.replace(/\r$/, ''));
    return { lines, end: from + last + 1 };
  } finally {
    await fh.close();
  }
}

/**
 * Sends every line of the services' log files (instance, build and deploy logs under <data>/logs) to a syslog
 * receiver. The files are the buffer: the sink keeps, per file, the point up to which the receiver counts as having
 * every line (saved in <data>/logsink/cursors.json) and reads on from there. A line counts as received once the
 * connection it was written to has stayed up for confirmMs afterwards; when a connection breaks, everything after
 * that point is sent again on the next one, with the same `seq` (its line number in its file), so a receiver sees each
 * line at least once and can drop the repeats by (ship, file, seq). Nothing here blocks the ship: a receiver that is
 * down only means the files are read later.
 */
export class LogSink {
  private target: SinkTarget | null = null;
  private transport: Transport | null = null;
  private files = new Map<string, FileState>();
  private batches: Batch[] = [];
  private cursors: Map<string, Cursor> | null = null;
  private readonly cursorFile: string;
  private timer: NodeJS.Timeout | null = null;
  private ticking: Promise<void> | null = null;
  private retryMs = RETRY_MIN_MS;
  private nextConnect = 0;
  private lastSave = 0;
  private dirty = false;
  private stopped = false;
  private lastDown = '';

  constructor(private readonly o: LogSinkOptions) {
    this.cursorFile = join(o.dataDir, 'logsink', 'cursors.json');
  }

  /** Where to send (null: nowhere); a change closes the old connection and starts again from the saved cursors. */
  configure(target: SinkTarget | null): void {
    if (target?.label === this.target?.label && target?.transport === this.target?.transport) return;
    this.transport?.close();
    this.transport = null;
    this.target = target;
    this.rewind();
    if (target) {
      this.o.log(`log sink: instance, build and deploy log lines go to ${target.label} (RFC 5424${target.transport === 'tcp' ? ', octet-counted' : ''})`);
      this.nextConnect = 0;
      this.schedule(0);
    } else if (this.timer) clearTimeout(this.timer);
  }

  private schedule(ms: number): void {
    if (this.stopped || !this.target) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.ticking = this.tick()
        .catch((e: unknown) => this.o.log(`log sink: ${(e as Error).message}`))
        .finally(() => {
          this.ticking = null;
          this.schedule(this.o.pollMs ?? 250);
        });
    }, ms);
    this.timer.unref();
  }

  /** Everything not yet confirmed goes again. */
  private rewind(): void {
    this.batches = [];
    for (const f of this.files.values()) f.sent = { ...f.confirmed };
  }

  private down(why: string): void {
    this.transport = null;
    this.rewind();
    if (why !== this.lastDown) this.o.log(`log sink: ${this.target?.label ?? ''}: ${why}; lines not confirmed are sent again on the next connection (retrying)`);
    this.lastDown = why;
    this.nextConnect = Date.now() + this.retryMs;
    this.retryMs = Math.min(RETRY_MAX_MS, this.retryMs * 2);
  }

  private async tick(): Promise<void> {
    const target = this.target;
    if (!target) return;
    await this.scan();
    this.confirm();
    await this.persist();
    if (!this.transport) {
      if (Date.now() < this.nextConnect) return;
      const t = target.transport === 'tcp' ? openTcp(target, octetFrame, (why) => this.transport === t && this.down(why)) : openUdp(target);
      this.transport = t;
      return;
    }
    const t = this.transport;
    if (!t.up) return;
    if (this.lastDown) {
      this.o.log(`log sink: ${target.label}: connected again`);
      this.lastDown = '';
    }
    this.retryMs = RETRY_MIN_MS;
    for (const f of this.files.values()) {
      if (t.backlog > MAX_BACKLOG || this.transport !== t) break;
      await this.sendFrom(f, t);
    }
  }

  /** New files, gone files, truncated (rotated) files. */
  private async scan(): Promise<void> {
    if (this.cursors === null) {
      const saved = loadCursors(this.cursorFile);
      const first = saved === null;
      this.cursors = saved ?? new Map();
      // The sink's very first start on this data dir: history from before it was set up is not sent.
      if (first) for (const { meta, size } of await listLogFiles(dataPaths.logsRoot(this.o.dataDir))) this.cursors.set(meta.path, { offset: size, line: await countLines(meta.path, size) });
      this.dirty = true;
    }
    const seen = new Set<string>();
    for (const { meta, size } of await listLogFiles(dataPaths.logsRoot(this.o.dataDir))) {
      seen.add(meta.path);
      let f = this.files.get(meta.path);
      if (!f) {
        const c = this.cursors.get(meta.path) ?? { offset: 0, line: 0 };
        f = { meta, confirmed: { ...c }, sent: { ...c } };
        this.files.set(meta.path, f);
      }
      if (size < f.confirmed.offset || size < f.sent.offset) await this.rotated(f);
    }
    for (const [path] of this.files) {
      if (seen.has(path)) continue;
      this.files.delete(path);
      this.cursors.delete(path);
      this.batches = this.batches.filter((b) => b.file.meta.path !== path);
      this.dirty = true;
    }
  }

  /**
   * Copy-then-truncate rotation (agent/runtime/instance-logs.ts) put what the file held into <file>.1: the lines not
   * yet confirmed are read from there, then the file goes on from its start (line numbers go on counting).
   */
  private async rotated(f: FileState): Promise<void> {
    // Only with a receiver: the copy is read once, then the file's cursor starts over.
    const t = this.transport;
    if (!t?.up) return;
    this.batches = this.batches.filter((b) => b.file !== f);
    const copy = `${f.meta.path}.1`;
    let from = f.confirmed.offset;
    let line = f.confirmed.line;
    const st = await open(copy, 'r').then(async (fh) => {
      const s = await fh.stat();
      await fh.close();
      return s;
    }).catch(() => null);
    while (st && t.up && from < st.size) {
      const r = await readLines(copy, from, st.size);
      if (r.end === from) break;
      t.send(r.lines.map((text, i) => formatMessage({ ...this.lineMeta(f), seq: line + i + 1, text, at: new Date() })));
      line += r.lines.length;
      from = r.end;
    }
    f.confirmed = { offset: 0, line };
    f.sent = { offset: 0, line };
    this.dirty = true;
  }

  private lineMeta(f: FileState): { ship: string; service: string; release: string; process: string; kind: string; file: string } {
    const m = f.meta;
    return { ship: this.o.ship, service: m.service, release: m.release, process: m.process, kind: m.kind, file: m.file };
  }

  private async sendFrom(f: FileState, t: Transport): Promise<void> {
    const st = await open(f.meta.path, 'r').then(async (fh) => {
      const s = await fh.stat();
      await fh.close();
      return s;
    }).catch(() => null);
    if (!st || st.size <= f.sent.offset) return;
    const r = await readLines(f.meta.path, f.sent.offset, st.size);
    if (r.lines.length === 0 || this.transport !== t || !t.up) return;
    const at = new Date();
    const meta = this.lineMeta(f);
    t.send(r.lines.map((text, i) => formatMessage({ ...meta, seq: f.sent.line + i + 1, text, at })));
    f.sent = { offset: r.end, line: f.sent.line + r.lines.length };
    if (t.confirmsAtOnce) {
      f.confirmed = { ...f.sent };
      this.dirty = true;
    } else this.batches.push({ file: f, upTo: { ...f.sent }, at: Date.now() });
  }

  private confirm(): void {
    const t = this.transport;
    if (!t?.up) return;
    const before = Date.now() - this.o.confirmMs;
    while (this.batches.length > 0 && (this.batches[0] as Batch).at <= before) {
      const b = this.batches.shift() as Batch;
      b.file.confirmed = b.upTo;
      this.dirty = true;
    }
  }

  private async persist(force = false): Promise<void> {
    if (!this.dirty || !this.cursors || (!force && Date.now() - this.lastSave < SAVE_EVERY_MS)) return;
    for (const f of this.files.values()) this.cursors.set(f.meta.path, f.confirmed);
    this.dirty = false;
    this.lastSave = Date.now();
    await saveCursors(this.cursorFile, this.cursors);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.ticking;
    // Only what is confirmed is saved: the next ship sends the rest again.
    await this.persist(true).catch(() => undefined);
    this.transport?.close();
    this.transport = null;
  }
}
