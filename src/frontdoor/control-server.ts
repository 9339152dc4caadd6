import { chmodSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../log.js';
import type { ControlAnswer, ControlRequest, PlaneHello } from './control-messages.js';
import type { PlaneEvent, PlaneImpl } from './plane.js';
import { parseWireTable } from './wire.js';
import { requestStats } from './request-stats.js';

export interface ControlHooks {
  hello(): PlaneHello;
  /** `upgrade`: resolves once the newer data plane serves (this one then retires on its own). */
  upgrade(entry: readonly string[]): Promise<void>;
  stop(): void;
}

const MAX_LINE = 64 * 1024 * 1024;

/**
 * The data plane's control socket (mode 0600 in the data dir: only the ship's user reaches it). Every connection gets
 * the plane's events; its tables apply in order, and its other requests see every table sent before them.
 */
export class ControlServer {
  private readonly clients = new Set<Socket>();
  private constructor(readonly server: Server) {}

  static async start(path: string, impl: () => PlaneImpl, hooks: ControlHooks, log: Logger): Promise<ControlServer> {
    rmSync(path, { force: true });
    let me: ControlServer | null = null;
    const server = createServer((socket) => me?.serve(socket, impl, hooks, log));
    const old = process.umask(0o177);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(path, () => resolve());
      });
    } finally {
      process.umask(old);
    }
    chmodSync(path, 0o600);
    me = new ControlServer(server);
    return me;
  }

  emit(e: PlaneEvent): void {
    const line = `${JSON.stringify(e)}\n`;
    for (const c of this.clients) if (c.writable) c.write(line);
  }

  private serve(socket: Socket, impl: () => PlaneImpl, hooks: ControlHooks, log: Logger): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => undefined);
    let buf = '';
    let chain: Promise<void> = Promise.resolve();
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      buf += d;
      if (buf.length > MAX_LINE) {
        socket.destroy();
        return;
      }
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        // Tables apply in the order sent; any other request waits only for the tables sent before it (a drain of
        // 30 s must not hold up another service's switch).
        let req: ControlRequest | null = null;
        try {
          req = JSON.parse(line) as ControlRequest;
        } catch {
          // answered as an error below
        }
        if (req?.op === 'set-table') {
          chain = chain.then(() => this.answer(socket, req, impl(), hooks, log));
        } else {
          const after = chain;
          void after.then(() => this.answer(socket, req, impl(), hooks, log));
        }
      }
    });
  }

  private async answer(socket: Socket, req: ControlRequest | null, impl: PlaneImpl, hooks: ControlHooks, log: Logger): Promise<void> {
    let id = 0;
    let out: ControlAnswer;
    try {
      if (req === null || typeof req !== 'object') throw new Error('expected one JSON object per line');
      id = typeof req.id === 'number' ? req.id : 0;
      switch (req.op) {
        case 'hello':
          out = { id, ok: true, hello: hooks.hello() };
          break;
        case 'set-table':
          await impl.setTable(parseWireTable(req.table));
          out = { id, ok: true };
          break;
        case 'counts':
          out = { id, ok: true, counts: await impl.counts(String(req.instance)) };
          break;
        case 'close-idle':
          await impl.closeIdle(String(req.instance));
          out = { id, ok: true };
          break;
        case 'drain':
          out = { id, ok: true, drain: await impl.drain(String(req.instance), Number(req.timeoutMs) || 0) };
          break;
        case 'stats':
          out = { id, ok: true, stats: requestStats.snapshot() };
          break;
        case 'reload-tls':
          out = { id, ok: true, reloaded: await impl.reloadTls() };
          break;
        case 'upgrade':
          await hooks.upgrade(req.entry);
          out = { id, ok: true };
          break;
        case 'stop':
          out = { id, ok: true };
          socket.write(`${JSON.stringify(out)}\n`);
          hooks.stop();
          return;
        default:
          out = { id, ok: false, error: `unknown op ${JSON.stringify((req as { op?: unknown }).op)}` };
      }
    } catch (e) {
      log(`control: ${(e as Error).message}`);
      out = { id, ok: false, error: (e as Error).message };
    }
    if (socket.writable) socket.write(`${JSON.stringify(out)}\n`);
  }

  /** Accepts no more connections and unlinks the path (a successor binds it afresh); open ones stay. */
  stopListening(): void {
    this.server.close();
  }

  /**
   * Resolves once no client is connected (or after timeoutMs): a retiring plane waits for this so the answer to the
   * ship's `upgrade` reaches it before the connection goes.
   */
  idle(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const deadline = Date.now() + timeoutMs;
      const check = (): void => {
        if (this.clients.size === 0 || Date.now() >= deadline) resolve();
        else setTimeout(check, 50);
      };
      check();
    });
  }

  close(): void {
    for (const c of this.clients) c.destroy();
    this.server.close();
  }
}
