import type { Server as NetServer, Socket } from 'node:net';
import { isToChild, type ToChild, type ToParent, type Want } from './handover-messages.js';

/**
 * A received listening socket. Node hands it over as a server that already accepts; until its new owner listens on
 * it, connections that come in are held here (not dropped) and passed on by adoptInto().
 */
export class HeldListener {
  private readonly early: Socket[] = [];

  constructor(readonly server: NetServer) {
    server.on('connection', (s: Socket) => this.early.push(s));
  }

  /** owner.listen(handle) takes the socket over; connections accepted before that are injected as its own. */
  adoptInto(owner: NetServer): Promise<void> {
    return new Promise((resolve, reject) => {
      owner.once('error', reject);
      owner.listen(this.server, () => {
        owner.off('error', reject);
        for (const s of this.early.splice(0)) owner.emit('connection', s);
        resolve();
      });
    });
  }
}

/** What a successor (`starphleet ship --takeover`) gets from the ship it replaces, over the IPC channel. */
export class Predecessor {
  private waiting: { want: Want; resolve: (m: ToChild, handle: NetServer | undefined) => void } | null = null;

  /**
   * beforeReady runs just before this ship tells the old one it serves (after that the old one exits): under systemd
   * it sends MAINPID, so the unit never sees its main process gone while a ship still serves.
   */
  constructor(
    readonly pid: number,
    private readonly beforeReady?: () => Promise<void>,
  ) {
    process.on('message', (m: unknown, handle: unknown) => {
      if (!isToChild(m)) return;
      const server = handle as NetServer | undefined;
      const w = this.waiting;
      if (w?.want !== m.give) return;
      this.waiting = null;
      w.resolve(m, server);
    });
  }

  /** The ship that spawned this process with --takeover, or an error saying how this process was started. */
  static fromParent(beforeReady?: () => Promise<void>): Predecessor {
    if (!process.send || !process.connected) throw new Error('--takeover is for a ship starting another: it needs the IPC channel of its parent ship');
    return new Predecessor(process.ppid, beforeReady);
  }

  private send(m: ToParent): Promise<void> {
    return new Promise((resolve, reject) => {
      if (!process.send) return reject(new Error('the IPC channel to the old ship is gone'));
      process.send(m, undefined, {}, (e: Error | null) => (e ? reject(e) : resolve()));
    });
  }

  private ask(want: Want, timeoutMs = 60_000): Promise<HeldListener | null> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the old ship did not give its ${want} socket within ${timeoutMs / 1000} s`)), timeoutMs);
      this.waiting = {
        want,
        resolve: (_m, handle) => {
          clearTimeout(timer);
          // Wrapped at once, in the same tick the handle arrived: no connection can slip by unheld.
          resolve(handle ? new HeldListener(handle) : null);
        },
      };
      this.send({ want }).catch((e: unknown) => {
        clearTimeout(timer);
        reject(e as Error);
      });
    });
  }

  /** Resolves once the old ship closed its control socket: this one binds a fresh one at the same path. */
  async control(): Promise<void> {
    await this.ask('control');
  }

  async ssh(): Promise<HeldListener> {
    const h = await this.ask('ssh');
    if (!h) throw new Error('the old ship sent no SSH socket');
    return h;
  }

  /** Resolves once the old ship stopped reconciling: this one adopts its instances and the data plane. */
  async pauseAgent(): Promise<void> {
    await this.ask('agent');
  }

  /** Tells the old ship this one serves everything, then lets go of the channel (the old ship exits soon). */
  async ready(version: string): Promise<void> {
    await this.beforeReady?.();
    await this.send({ ready: version });
    process.disconnect?.();
  }

  async failed(reason: string): Promise<void> {
    await this.send({ failed: reason }).catch(() => undefined);
  }
}
