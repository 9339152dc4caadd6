import { Agent, request, type IncomingMessage, type ServerResponse } from 'node:http';
import { endToEnd } from './headers.js';

/**
 * The reserved path the ship itself answers (through its HTTP server on a unix socket in the data dir), not the data
 * plane: `/starphleet/webhook`. Matched on the path alone. (The dashboard has an origin of its own, not this one: a
 * page of any service shares this origin.)
 */
export function shipPath(target: string): boolean {
  const q = target.indexOf('?');
  const path = q < 0 ? target : target.slice(0, q);
  return path === '/starphleet/webhook';
}

/**
 * Kept-alive connections to the ship: with one connection per request the ship closed each after its answer, and the
 * end of the request body could then meet a closed pipe before the answer was read (a 202 turned into a 503). Idle
 * ones are closed by this side first (the ship keeps them 65 s).
 */
const shipAgent = new Agent({ keepAlive: true, timeout: 30_000, maxSockets: 64 });

/** The answer while no ship listens: apps keep being served, only the ship's own pages wait for it. */
export const SHIP_DOWN = '503 the ship is not running: /starphleet/webhook answers again once it is\n';

function down(res: ServerResponse): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(503, { 'content-type': 'text/plain; charset=utf-8', 'retry-after': '5', connection: 'close' });
  res.end(SHIP_DOWN);
}

/**
 * Proxies one request to the ship's HTTP server, streaming both ways (an event stream stays open). X-Forwarded-For is
 * the client's address as this plane saw it and nothing the client sent: the ship audits by it.
 */
export function proxyToShip(req: IncomingMessage, res: ServerResponse, socketPath: string, target: string = req.url ?? '/'): void {
  const raw = endToEnd(req.rawHeaders, true);
  // Repeats stay repeats (a header sent twice must still look so to the ship's checks).
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < raw.length; i += 2) {
    const name = (raw[i] as string).toLowerCase();
    const had = headers[name];
    const v = raw[i + 1] as string;
    headers[name] = had === undefined ? v : Array.isArray(had) ? [...had, v] : [had, v];
  }
  headers['x-forwarded-for'] = req.socket.remoteAddress ?? '';
  headers['x-forwarded-proto'] = 'http';
  const up = request({ socketPath, path: target, method: req.method ?? 'GET', headers, agent: shipAgent });
  let answered = false;
  // A ship that answers early (413) and closes may break the pipe of a body still being written: its answer counts.
  up.on('error', () => {
    if (!answered) down(res);
  });
  up.on('response', (answer) => {
    answered = true;
    if (String(answer.headers['content-type'] ?? '').startsWith('text/event-stream')) req.socket.setTimeout(0);
    res.writeHead(answer.statusCode ?? 502, answer.statusMessage, endToEnd(answer.rawHeaders, false));
    res.flushHeaders();
    answer.pipe(res);
    answer.on('error', () => res.destroy());
  });
  res.on('close', () => {
    if (!res.writableFinished) up.destroy();
  });
  req.pipe(up);
}
