import { readFileSync } from 'node:fs';
import { request, type Agent, type IncomingHttpHeaders } from 'node:http';
import { connect } from 'node:net';
import { sleep, waitFor } from './wait.js';

export interface Reply {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** One HTTP request with node's client (no redirects followed); a body string is sent as is. */
export function send(port: number, path: string, o: { method?: string; headers?: Record<string, string>; body?: string; host?: string } = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request({ host: o.host ?? '127.0.0.1', port, path, method: o.method ?? 'GET', headers: o.headers ?? {}, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(o.body);
  });
}

/**
 * Waits until a path answers 200 on five fresh connections in a row, 100 ms apart. Through the nginx plane the first
 * 200 can come from a new worker while an old one, still on the previous table until it handles the reload, accepts
 * the next connection (seen in CI: a 503 "no healthy instance" right after the first 200).
 */
export async function waitServes(port: number, path: string, what: string | (() => string), timeoutMs: number, headers: Record<string, string> = {}): Promise<void> {
  await waitFor(
    async () => {
      for (let i = 0; i < 5; i++) {
        if ((await send(port, path, { headers })).status !== 200) return false;
        await sleep(100);
      }
      return true;
    },
    what,
    timeoutMs,
    250,
  );
}

/** Writes raw bytes on a new connection and collects everything until the server closes it (or timeoutMs). */
export function raw(port: number, text: string | Buffer, timeoutMs = 10_000, localAddress?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ host: '127.0.0.1', port, ...(localAddress ? { localAddress } : {}) });
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within ${timeoutMs} ms; got ${JSON.stringify(got.slice(0, 300))}`));
    }, timeoutMs);
    s.on('data', (b) => (got += b.toString('latin1')));
    s.on('error', () => undefined);
    s.on('close', () => {
      clearTimeout(t);
      resolve(got);
    });
    s.write(text);
  });
}

export function basic(user: string, password: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` };
}

/** Resident set size of a process in bytes, from /proc/<pid>/status. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(m[1]) * 1024;
}

/** Reads a server-sent event stream and keeps its data lines; close() ends it. */
export class EventStream {
  readonly events: string[] = [];
  closed = false;
  status = 0;
  private readonly req;
  constructor(port: number, path: string) {
    this.req = request({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      this.status = res.statusCode ?? 0;
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        buf += c;
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          for (const line of block.split('\n')) if (line.startsWith('data: ')) this.events.push(line.slice(6));
        }
      });
      res.on('close', () => (this.closed = true));
    });
    this.req.on('error', () => (this.closed = true));
    this.req.end();
  }
  close(): void {
    this.req.destroy();
  }
}

/** A GET that never throws: its status and body, or the error (for load generators that count failures). */
/** An error of a request sent on a kept-alive connection the server closed before any byte of an answer came. */
export type ReusedConnectionClosed = Error & { readonly reusedConnectionClosed: true };

export function isReusedConnectionClosed(e: unknown): e is ReusedConnectionClosed {
  return e instanceof Error && (e as Partial<ReusedConnectionClosed>).reusedConnectionClosed === true;
}

export function getText(port: number, path: string, agent: Agent | false): Promise<{ status: number; body: string } | Error> {
  return new Promise((resolve) => {
    let answered = false;
    const req = request({ host: '127.0.0.1', port, path, agent }, (res) => {
      answered = true;
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', resolve);
    });
    req
      .on('error', (e: NodeJS.ErrnoException) => {
        if (!answered && req.reusedSocket && (e.code === 'ECONNRESET' || e.code === 'EPIPE')) Object.assign(e, { reusedConnectionClosed: true });
        resolve(e);
      })
      .end();
  });
}
