import type { ServerChannel } from 'ssh2';
import { layoutOf, sameLayout, Slab, type Ssh2Cipher } from './data-packets.js';
import type { Outbound } from './outbound.js';

/** The parts of ssh2's channel and protocol objects the sender uses (ssh2 1.17, lib/Channel.js and Protocol.js). */
interface ChannelInternals {
  readonly outgoing: { readonly id: number; window: number; readonly packetSize: number; readonly state: string };
  readonly _client: { readonly _protocol: ProtocolInternals };
  _waitWindow: boolean;
  _chunk: unknown;
  _chunkcb: (() => void) | undefined;
}
interface ProtocolInternals {
  readonly _kexinit: unknown;
  readonly _cipher: Ssh2Cipher | undefined;
  channelData(id: number, data: Buffer): void;
}

type Item = { readonly buf: Buffer; pos: number; readonly done: () => void } | { readonly slab: Slab; readonly done: () => void };

const EMPTY = Buffer.alloc(0);
/** Slab memories kept per session for reuse: as many as the session's reply budget holds (session.ts). */
const KEEP = 16;

/**
 * Sends one SFTP session's replies on its channel, in order, within the client's window, instead of `channel.write`.
 * Replies laid out as slabs (data-packets.ts) are encrypted in place; everything else, and a slab whenever the fast way
 * does not apply (a key re-exchange is running, the cipher changed, the window is shorter than a packet), goes through
 * ssh2's own `channelData`, which copies and queues as ssh2 always does. Nothing else may write to the channel.
 *
 * A bounded window is waited for through ssh2's own hook: the server calls a waiting channel's `_chunkcb` when the
 * client adjusts the window (checked at start-up by checkPacketInternals).
 */
export class ChannelSender {
  private readonly queue: Item[] = [];
  private readonly free: Buffer[] = [];
  private draining = false;
  private waiting = false;
  private readonly ch: ChannelInternals;

  constructor(
    channel: ServerChannel,
    private readonly socket: Outbound,
  ) {
    this.ch = channel as unknown as ChannelInternals;
    if (typeof this.ch.outgoing?.window !== 'number' || typeof this.ch._client?._protocol?.channelData !== 'function')
      throw new Error('ssh2 internals changed: a channel without outgoing.window or _client._protocol (see src/server/sftp/channel-sender.ts)');
  }

  /** Nothing is waiting to be sent. */
  get idle(): boolean {
    return this.queue.length === 0;
  }

  /** Queues bytes; `done` runs once all of them have been handed to the connection. */
  send(buf: Buffer, done: () => void): void {
    this.queue.push({ buf, pos: 0, done });
    this.drain();
  }

  /** Queues a slab (its memory comes back for reuse once the socket has written it). */
  sendSlab(slab: Slab, done: () => void): void {
    this.queue.push({ slab, done });
    this.drain();
  }

  /** A slab for a reply of `headLen + bodyLen` bytes, laid out for the cipher now in use; null when there is no fast way. */
  slab(headLen: number, bodyLen: number): Slab | null {
    const layout = layoutOf(this.ch._client._protocol._cipher);
    if (layout === null || this.ch.outgoing.state !== 'open') return null;
    const { id, packetSize } = this.ch.outgoing;
    // Tiny packets would make a slab of hundreds of pieces: not worth it.
    if (packetSize < 4096 || headLen > packetSize) return null;
    return new Slab(layout, packetSize, id, headLen, bodyLen, this.free.pop());
  }

  /** A slab that was not sent (the read failed or came short): its memory can be used again at once. */
  recycle(slab: Slab): void {
    if (this.free.length < KEEP) this.free.push(slab.memory);
  }

  /** The channel is gone: what is queued will never be sent. */
  close(): void {
    if (this.waiting) {
      this.waiting = false;
      this.ch._chunkcb = undefined;
      this.ch._waitWindow = false;
    }
    for (const item of this.queue.splice(0)) {
      if ('slab' in item) this.recycle(item.slab);
      item.done();
    }
  }

  private drain(): void {
    if (this.draining || this.waiting) return;
    this.draining = true;
    this.socket.cork();
    try {
      while (this.queue.length > 0) {
        if (this.ch.outgoing.state !== 'open') {
          this.close();
          break;
        }
        const item = this.queue[0] as Item;
        if (!('slab' in item ? this.sendSlabPackets(item.slab) : this.sendBytes(item))) {
          this.waitForWindow();
          break;
        }
        this.queue.shift();
        if ('slab' in item) this.afterWritten(item.slab);
        item.done();
      }
    } finally {
      this.draining = false;
      this.socket.uncork();
    }
  }

  private sendBytes(item: { buf: Buffer; pos: number }): boolean {
    const out = this.ch.outgoing;
    while (item.pos < item.buf.length) {
      if (out.window <= 0) return false;
      const n = Math.min(item.buf.length - item.pos, out.window, out.packetSize);
      this.ch._client._protocol.channelData(out.id, n === item.buf.length ? item.buf : item.buf.subarray(item.pos, item.pos + n));
      out.window -= n;
      item.pos += n;
    }
    return true;
  }

  private sendSlabPackets(s: Slab): boolean {
    const out = this.ch.outgoing;
    const proto = this.ch._client._protocol;
    while (s.next < s.packets.length) {
      const data = s.packets[s.next]?.data as Buffer;
      const left = data.length - s.sentOfNext;
      if (out.window <= 0) return false;
      const cipher = proto._cipher;
      if (s.sentOfNext === 0 && out.window >= left && proto._kexinit === undefined && cipher !== undefined && sameLayout(s.layout, layoutOf(cipher))) {
        // ssh2's cipher encrypts in place, counts the sequence number and writes the packet to the socket.
        cipher.encrypt(s.seal(s.next));
        out.window -= left;
        s.next++;
        continue;
      }
      const n = Math.min(left, out.window, out.packetSize);
      proto.channelData(out.id, data.subarray(s.sentOfNext, s.sentOfNext + n));
      out.window -= n;
      s.sentOfNext += n;
      if (s.sentOfNext === data.length) {
        s.next++;
        s.sentOfNext = 0;
      }
    }
    return true;
  }

  /** The slab's memory is reused once the socket has written everything up to its last packet. */
  private afterWritten(slab: Slab): void {
    if (!this.socket.writable) return this.recycle(slab);
    this.socket.write(EMPTY, () => this.recycle(slab));
  }

  private waitForWindow(): void {
    this.waiting = true;
    this.ch._chunk = undefined;
    this.ch._waitWindow = true;
    this.ch._chunkcb = () => {
      this.ch._chunkcb = undefined;
      this.waiting = false;
      this.drain();
    };
  }
}
