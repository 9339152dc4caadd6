import { connect, type Socket } from 'node:net';
import type { ControlAnswer, ControlRequest } from '../protocol/control-messages.js';
import type { PlaneEvent } from '../protocol/plane.js';

/** An answer line is a route-table-free object; a longer one is a broken peer. */
const MAX_ANSWER = 16 * 1024 * 1024;

/**
 * A data plane from before one-request connections (it answers with the `id` of a request; it takes no `subscribe`
 * and its `upgrade` wants the program in the request): the ship hands it over to its own version at once.
 */
export function isLegacyAnswer(a: ControlAnswer): boolean {
  return 'id' in a;
}

/** Errors of reaching a control socket that mean nobody serves it (the plane is gone). */
export function isGone(e: unknown): boolean {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ECONNREFUSED';
}

/** Reads JSON lines from a socket; each whole line goes to onLine. */
function lines(socket: Socket, onLine: (line: string) => void, onTooLong: () => void): void {
  let buf = '';
  socket.setEncoding('utf8');
  socket.on('data', (d: string) => {
    buf += d;
    if (buf.length > MAX_ANSWER) return onTooLong();
    let i;
    while ((i = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, i);
      buf = buf.slice(i + 1);
      onLine(line);
    }
  });
}

/**
 * How long the ship waits for an answer: a plane that accepts and never answers (stopped, wedged) must not hold a
 * switch, a drain or a deploy for good. A drain answers when its own time limit ends; a hand-over starts a process.
 */
export function answerLimitMs(body: ControlRequest): number {
  if (body.op === 'drain') return body.timeoutMs + 60_000;
  if (body.op === 'upgrade' || body.op === 'stop') return 180_000;
  return 60_000;
}

/** One request to a data plane's control socket on a connection of its own; resolves with its answer if ok. */
export function askPlane(path: string, body: ControlRequest, limitMs = answerLimitMs(body)): Promise<ControlAnswer & { ok: true }> {
  return new Promise((resolve, reject) => {
    const s = connect(path);
    let settled = false;
    const settle = (f: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      s.destroy();
      f();
    };
    const timer = setTimeout(() => settle(() => reject(Object.assign(new Error(`the data plane did not answer ${body.op} within ${limitMs >= 1000 ? `${Math.round(limitMs / 1000)} s` : `${limitMs} ms`} (${path})`), { code: 'ETIMEDOUT' }))), limitMs);
    s.on('connect', () => s.write(`${JSON.stringify(body)}\n`));
    lines(
      s,
      (line) => {
        let m: ControlAnswer | PlaneEvent;
        try {
          m = JSON.parse(line) as ControlAnswer | PlaneEvent;
        } catch {
          return settle(() => reject(new Error(`data plane: an answer that is not JSON: ${JSON.stringify(line.slice(0, 80))}`)));
        }
        // A data plane from before one-request connections sends its events on every connection: not the answer.
        if ('event' in m) return;
        if (m.ok) settle(() => resolve(m));
        else settle(() => reject(new Error(`data plane: ${m.error}`)));
      },
      () => settle(() => reject(new Error('data plane: answer too long'))),
    );
    s.on('error', (e) => settle(() => reject(e)));
    s.on('close', () => settle(() => reject(new Error(`the data plane closed its control connection before answering ${body.op}`))));
  });
}

/** The plane's events, on a `subscribe` connection of their own (nothing else is ever sent on it). */
export class PlaneEvents {
  private closed = false;
  private constructor(private readonly socket: Socket) {
    socket.on('close', () => (this.closed = true));
  }

  static open(path: string, onEvent: (e: PlaneEvent) => void): Promise<PlaneEvents> {
    return new Promise((resolve, reject) => {
      const s = connect(path);
      let subscribed = false;
      s.on('connect', () => s.write(`${JSON.stringify({ op: 'subscribe' } satisfies ControlRequest)}\n`));
      s.on('error', (e) => {
        if (!subscribed) reject(e);
      });
      s.on('close', () => {
        if (!subscribed) reject(new Error('the data plane refused the event subscription'));
      });
      lines(
        s,
        (line) => {
          let m: PlaneEvent | ControlAnswer;
          try {
            m = JSON.parse(line) as PlaneEvent | ControlAnswer;
          } catch {
            return;
          }
          if ('event' in m) onEvent(m);
          else if (!subscribed && m.ok) {
            subscribed = true;
            resolve(new PlaneEvents(s));
          } else if (!subscribed && !m.ok) {
            s.destroy();
            reject(new Error(`data plane: ${m.error}`));
          }
        },
        () => s.destroy(),
      );
    });
  }

  get open(): boolean {
    return !this.closed;
  }

  close(): void {
    this.socket.destroy();
  }
}
