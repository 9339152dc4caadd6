import { Transform, type TransformCallback } from 'node:stream';

/** RFC 6455 close frame, server to client (unmasked): 1001 "going away", with a short reason. */
export function goingAwayFrame(reason = 'the instance is being replaced'): Buffer {
  const text = Buffer.from(reason.slice(0, 100));
  return Buffer.concat([Buffer.from([0x88, 2 + text.length, 0x03, 0xe9]), text]);
}

/** Length of a frame header and its payload, once enough of the header is there; null until then. */
function headerOf(b: Buffer): { head: number; payload: number } | null {
  if (b.length < 2) return null;
  const masked = ((b[1] as number) & 0x80) !== 0;
  const len = (b[1] as number) & 0x7f;
  const ext = len === 126 ? 2 : len === 127 ? 8 : 0;
  const head = 2 + ext + (masked ? 4 : 0);
  if (b.length < head) return null;
  const payload = len === 126 ? b.readUInt16BE(2) : len === 127 ? Number(b.readBigUInt64BE(2)) : len;
  return { head, payload };
}

/**
 * The instance-to-client side of a proxied WebSocket, passed through as is while it knows where each frame ends, so
 * that the data plane can end the connection between two frames with a close frame of its own (1001, going away)
 * when a drain times out or the instance goes, instead of a reset. A frame half sent is finished first.
 */
export class WsFrames extends Transform {
  /** Bytes of the current frame not passed yet. */
  private left = 0;
  /** Header bytes of the next frame, gathered at a boundary. */
  private head: Buffer = Buffer.alloc(0);
  private leaving = false;
  private ended = false;
  /** A close frame of the instance went through: the instance's own close, nothing to add. */
  private instanceClosed = false;

  /** Ends the stream with the 1001 close frame at the next frame boundary (at once when there is one now). */
  goAway(): void {
    this.leaving = true;
    this.closeIfAtBoundary();
  }

  private closeIfAtBoundary(): void {
    if (this.ended || this.instanceClosed || !this.leaving || this.left > 0 || this.head.length > 0) return;
    this.ended = true;
    this.push(goingAwayFrame());
    this.push(null);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    let off = 0;
    while (off < chunk.length && !this.ended) {
      if (this.left > 0) {
        const n = Math.min(this.left, chunk.length - off);
        this.push(chunk.subarray(off, off + n));
        off += n;
        this.left -= n;
        if (this.left === 0) this.closeIfAtBoundary();
        continue;
      }
      this.head = Buffer.concat([this.head, chunk.subarray(off, off + 1)]);
      off += 1;
      const h = headerOf(this.head);
      if (h === null) continue;
      if (((this.head[0] as number) & 0x0f) === 0x8) this.instanceClosed = true;
      this.push(this.head);
      this.head = Buffer.alloc(0);
      this.left = h.payload;
      if (this.left === 0) this.closeIfAtBoundary();
    }
    cb();
  }

  override _flush(cb: TransformCallback): void {
    // The instance ended its side (stopped, crashed) without a close of its own: ours goes out, unless a frame was cut.
    if (!this.ended && !this.instanceClosed && this.left === 0 && this.head.length === 0) {
      this.ended = true;
      this.push(goingAwayFrame(this.leaving ? undefined : 'the instance went away'));
    }
    cb();
  }
}
