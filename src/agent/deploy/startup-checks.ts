import { request } from 'node:http';
import { dialOptions, type Upstream } from '../../dataplane/protocol/upstream.js';
import { CHECK_DEFAULTS, type StartupCheck } from '../releases/app-json.js';
import type { HealthResult } from '../runtime/health.js';
import type { ReleaseConfig } from '../types.js';
import { pollInterval } from '../../util/poll-interval.js';

/** Bodies past this are not read further: a check's `content` is looked for in the first 64 KiB. */
const MAX_BODY = 64 * 1024;
/**
 * While nothing answers yet (the app is still starting), tries come this often: every 50 ms for the first 2 s (a node
 * app listens 0.1-0.3 s after its start; a refused try costs next to nothing), then every 200 ms.
 */
const STARTING_POLL = { fastMs: 50, slowMs: 200, forMs: 2000 } as const;

type Answer = { readonly kind: 'answer'; readonly status: number; readonly body: string } | { readonly kind: 'none'; readonly why: string };

function probe(upstream: Upstream, path: string, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request({ ...dialOptions(upstream), path, method: 'GET', agent: false, timeout: timeoutMs }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < MAX_BODY) body += d;
      });
      res.once('end', () => resolve({ kind: 'answer', status: res.statusCode ?? 0, body }));
      res.once('error', (e) => resolve({ kind: 'none', why: e.message }));
    });
    req.once('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs / 1000} s`)));
    req.once('error', (e) => resolve({ kind: 'none', why: (e as NodeJS.ErrnoException).code ?? e.message }));
    req.end();
  });
}

/** The checks a release starts with: app.json's startup checks, or its healthcheck path with Dokku's defaults. */
export function startupChecks(cfg: ReleaseConfig): StartupCheck[] {
  const declared = cfg.manifest?.healthchecks ?? [];
  if (declared.length > 0) return [...declared];
  return [{ path: cfg.healthcheck, ...CHECK_DEFAULTS }];
}

export interface StartupOptions {
  readonly upstream: Upstream;
  readonly checks: readonly StartupCheck[];
  /** HEALTHCHECK_TIMEOUT: what is not passed by then fails. */
  readonly timeoutMs: number;
  readonly exited: Promise<unknown>;
  readonly signal?: AbortSignal;
}

const sleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise((r) => {
    const t = setTimeout(done, ms);
    function done(): void {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    }
    signal?.addEventListener('abort', done, { once: true });
  });

/**
 * Runs the checks in order until each passes (a 2xx, with the `content` in its body when one is asked for). A definite
 * wrong answer (4xx/5xx, or the wrong body) on `attempts` tries in a row, `wait` seconds apart, fails at once; no
 * answer at all (connection refused while the app starts, a timeout) does not count, so only the deadline ends that.
 */
export async function waitStartup(o: StartupOptions): Promise<HealthResult> {
  let exited = false;
  void o.exited.then(() => (exited = true));
  const deadline = Date.now() + o.timeoutMs;
  const secs = o.timeoutMs / 1000;
  for (const c of o.checks) {
    if (c.initialDelaySeconds > 0) await sleep(c.initialDelaySeconds * 1000, o.signal);
    let wrong = 0;
    let last = 'no answer yet';
    const started = Date.now();
    for (;;) {
      if (o.signal?.aborted) return { ok: false, reason: 'deploy cancelled' };
      if (exited) return { ok: false, reason: `instance exited before answering its health check ${c.path} (last: ${last})` };
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, reason: `healthcheck ${c.path} got no 200 within ${secs} s (last: ${last})` };
      const a = await probe(o.upstream, c.path, Math.max(100, Math.min(c.timeoutSeconds * 1000, left)));
      let pause = pollInterval(started, STARTING_POLL);
      if (a.kind === 'none') last = a.why;
      else if (a.status >= 200 && a.status < 300 && (c.content === undefined || a.body.includes(c.content))) break;
      else {
        const definite = a.status >= 400 || (a.status >= 200 && a.status < 300);
        last = a.status >= 200 && a.status < 300 ? `HTTP ${a.status} without ${JSON.stringify(c.content)} in its body` : `HTTP ${a.status}`;
        if (definite && ++wrong >= c.attempts) {
          return { ok: false, reason: `health check ${c.path} failed: ${last} on ${wrong} consecutive tries, ${c.waitSeconds} s apart` };
        }
        pause = c.waitSeconds * 1000;
      }
      await sleep(Math.min(pause, Math.max(0, deadline - Date.now())), o.signal);
    }
  }
  return { ok: true };
}

/** A process that is not web: up once it stayed alive this long; an exit before fails it. */
export async function waitAlive(exitedP: Promise<unknown>, ms: number, signal?: AbortSignal): Promise<HealthResult> {
  let exited = false;
  void exitedP.then(() => (exited = true));
  await Promise.race([exitedP, sleep(ms, signal)]);
  if (exited) return { ok: false, reason: `exited within ${ms / 1000} s of its start` };
  if (signal?.aborted) return { ok: false, reason: 'deploy cancelled' };
  return { ok: true };
}
