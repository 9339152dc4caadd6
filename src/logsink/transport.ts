import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { connect, isIPv6, type Socket } from 'node:net';
import type { SinkTarget } from './target.js';

/**
 * One connection to the receiver. TCP: octet-counted frames on a stream; `up` only between connect and the first
 * sign of trouble (error, end, close), after which it is never used again. UDP: one datagram per message, always up.
 */
export interface Transport {
  readonly up: boolean;
  /** Bytes written but not yet handed to the kernel: reading waits while this is large. */
  readonly backlog: number;
  /** Whether a message sent is as good as received once written (UDP: nothing better is known). */
  readonly confirmsAtOnce: boolean;
  send(frames: readonly string[]): void;
  close(): void;
}

export function openTcp(t: SinkTarget, frame: (m: string) => Buffer, onDown: (why: string) => void): Transport {
  let up = false;
  let down = false;
  const s: Socket = connect({ host: t.host, port: t.port });
  const fail = (why: string): void => {
    if (down) return;
    down = true;
    up = false;
    s.destroy();
    onDown(why);
  };
  s.setNoDelay(true);
  s.setKeepAlive(true, 10_000);
  s.once('connect', () => {
    if (!down) up = true;
  });
  s.on('error', (e: NodeJS.ErrnoException) => fail(e.code ?? e.message));
  // The receiver closing its side (a restart) ends this connection: what it did not read is sent again.
  s.on('end', () => fail('the receiver closed the connection'));
  s.on('close', () => fail('connection closed'));
  s.on('data', () => undefined);
  return {
    get up() {
      return up;
    },
    get backlog() {
      return s.writableLength;
    },
    confirmsAtOnce: false,
    send(frames) {
      if (!up) return;
      s.write(Buffer.concat(frames.map(frame)));
    },
    close() {
      down = true;
      s.destroy();
    },
  };
}

export function openUdp(t: SinkTarget): Transport {
  const s: UdpSocket = createSocket(isIPv6(t.host) ? 'udp6' : 'udp4');
  s.on('error', () => undefined);
  s.unref();
  let pending = 0;
  return {
    up: true,
    get backlog() {
      return pending;
    },
    confirmsAtOnce: true,
    send(frames) {
      // RFC 5426: one message per datagram, no framing.
      for (const m of frames) {
        pending++;
        s.send(Buffer.from(m, 'utf8'), t.port, t.host, () => pending--);
      }
    },
    close() {
      s.close();
    },
  };
}
