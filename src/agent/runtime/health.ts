import { request } from 'node:http';
import { dialOptions, type Upstream } from '../../dataplane/protocol/upstream.js';

export type HealthResult = { readonly ok: true } | { readonly ok: false; readonly reason: string };

export interface HealthOptions {
  readonly upstream: Upstream;
  readonly path: string;
  readonly timeoutMs: number;
  /** Settles when the instance exits: an exit before the first 200 fails at once. */
  readonly exited: Promise<unknown>;
  readonly signal?: AbortSignal;
  readonly intervalMs?: number;
}

function probe(upstream: Upstream, path: string, timeoutMs: number): Promise<string> {
  return new Promise((resolve) => {
    const req = request({ ...dialOptions(upstream), path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      res.resume();
      res.once('end', () => resolve(`HTTP ${res.statusCode ?? '?'}`));
      res.once('error', (e) => resolve(e.message));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.once('error', (e) => resolve((e as NodeJS.ErrnoException).code ?? e.message));
    req.end();
  });
}

/** GETs path on the instance's upstream until a 200, the instance exits, the time is up or the signal aborts. */
export async function waitHealthy(o: HealthOptions): Promise<HealthResult> {
  let exited = false;
  void o.exited.then(() => (exited = true));
  const deadline = Date.now() + o.timeoutMs;
  const interval = o.intervalMs ?? 200;
  let last = 'no answer yet';
  for (;;) {
    if (o.signal?.aborted) return { ok: false, reason: 'deploy cancelled' };
    if (exited) return { ok: false, reason: `instance exited before answering ${o.path} with 200 (last: ${last})` };
    const left = deadline - Date.now();
    if (left <= 0) return { ok: false, reason: `healthcheck ${o.path} got no 200 within ${o.timeoutMs / 1000} s (last: ${last})` };
    const answer = await probe(o.upstream, o.path, Math.max(100, Math.min(5000, left)));
    if (answer === 'HTTP 200') return { ok: true };
    last = answer;
    await new Promise((r) => setTimeout(r, Math.min(interval, Math.max(0, deadline - Date.now()))));
  }
}
