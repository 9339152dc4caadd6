import { rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../log.js';
import { assertPeerCheck } from '../../util/peer-cred.js';
import { readOneRequest } from '../../util/one-request.js';
import type { ControlAnswer, ControlRequest, PlaneHello } from '../protocol/control-messages.js';
import type { PlaneEvent, PlaneImpl } from '../protocol/plane.js';
import { parseWireTable } from '../protocol/wire.js';
import { requestStats } from './request-stats.js';
import { listenUnix } from '../../util/unix-listen.js';

export interface ControlHooks {
  hello(): PlaneHello;
  /** `upgrade`: resolves once the newer data plane (the program the ship recorded) serves; this one then retires. */
  upgrade(): Promise<void>;
  stop(): void;
}

/** A route table of thousands of services with their .htpasswd users fits; a larger line is refused. */
const MAX_REQUEST = 64 * 1024 * 1024;

/**
 * The data plane's control socket (mode 0600 in the data dir). One request per connection from a checked peer (root
 * or the plane's own uid, never the plane itself), one answer, then the connection closes; `subscribe` is the one
 * request whose answer is a stream (the plane's events). Refusals are logged with the peer's pid and uid.
 */
export class ControlServer {
  /** Connections with a request being answered (idle() waits for them), and event subscribers. */
  private readonly busy = new Set<Socket>();
  private readonly subscribers = new Set<Socket>();
  /** Tables apply one after another, in the order they arrived. */
  private tables: Promise<void> = Promise.resolve();

  private constructor(
    readonly server: Server,
    private readonly name: string,
  ) {}

  static async start(path: string, impl: () => PlaneImpl, hooks: ControlHooks, log: Logger): Promise<ControlServer> {
    // Without the peer check the socket does not serve at all.
    assertPeerCheck();
    rmSync(path, { force: true });
    let me: ControlServer | null = null;
    const server = createServer((socket) => {
      socket.on('error', () => undefined);
      if (me) void me.serve(socket, impl, hooks, log);
      else socket.destroy();
    });
    await listenUnix(server, path, 0o600);
    me = new ControlServer(server, `control socket ${path}`);
    return me;
  }

  emit(e: PlaneEvent): void {
    const line = `${JSON.stringify(e)}\n`;
    for (const c of this.subscribers) if (c.writable) c.write(line);
  }

  private async serve(socket: Socket, impl: () => PlaneImpl, hooks: ControlHooks, log: Logger): Promise<void> {
    this.busy.add(socket);
    socket.on('close', () => {
      this.busy.delete(socket);
      this.subscribers.delete(socket);
    });
    const got = await readOneRequest(socket, { name: this.name, maxBytes: MAX_REQUEST, refuseSelf: true, log });
    if (!got) return;
    const req = got.request as ControlRequest;
    if (req.op === 'subscribe') {
      this.busy.delete(socket);
      this.subscribers.add(socket);
      socket.write(`${JSON.stringify({ ok: true } satisfies ControlAnswer)}\n`);
      return;
    }
    let out: ControlAnswer;
    if (req.op === 'set-table') {
      const applied = this.tables.then(() => this.answer(req, impl(), hooks, log));
      this.tables = applied.then(() => undefined);
      out = await applied;
    } else {
      // Any other request sees every table that arrived before it, and does not wait for later ones (a drain of 30 s
      // must not hold up another service's switch).
      await this.tables;
      out = await this.answer(req, impl(), hooks, log);
    }
    if (socket.writable) socket.end(`${JSON.stringify(out)}\n`);
    if (req.op === 'stop') hooks.stop();
  }

  private async answer(req: ControlRequest, impl: PlaneImpl, hooks: ControlHooks, log: Logger): Promise<ControlAnswer> {
    try {
      switch (req.op) {
        case 'hello':
          return { ok: true, hello: hooks.hello() };
        case 'set-table':
          await impl.setTable(parseWireTable(req.table));
          return { ok: true };
        case 'counts':
          return { ok: true, counts: await impl.counts(String(req.instance)) };
        case 'close-idle':
          await impl.closeIdle(String(req.instance));
          return { ok: true };
        case 'drain':
          return { ok: true, drain: await impl.drain(String(req.instance), Number(req.timeoutMs) || 0) };
        case 'stats':
          return { ok: true, stats: impl.stats ? await impl.stats() : requestStats.snapshot() };
        case 'reload-tls':
          return { ok: true, reloaded: await impl.reloadTls() };
        case 'upgrade':
          await hooks.upgrade();
          return { ok: true };
        case 'stop':
          return { ok: true };
        default:
          throw new Error(`unknown op ${JSON.stringify((req as { op?: unknown }).op)}`);
      }
    } catch (e) {
      log(`control: ${String((req as { op?: unknown }).op)}: ${(e as Error).message}`);
      return { ok: false, error: (e as Error).message };
    }
  }

  /** Accepts no more connections and unlinks the path (a successor binds it afresh); open ones stay. */
  stopListening(): void {
    this.server.close();
  }

  /**
   * Resolves once no request is being answered (or after timeoutMs): a retiring plane waits for this so the answer
   * to the ship's `upgrade` reaches it before the plane exits. Subscribers do not count (they are closed at exit).
   */
  idle(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs;
      const check = (): void => {
        if (this.busy.size === 0 || Date.now() >= deadline) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
  }

  close(): void {
    for (const c of [...this.busy, ...this.subscribers]) c.destroy();
    this.server.close();
  }
}
