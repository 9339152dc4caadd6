import { randomFillSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

/**
 * SSH CHANNEL_DATA packets built in place around file bytes, for SFTP READ replies (the hot path of a download).
 *
 * ssh2 turns every 32 KiB of channel data into a new packet buffer (one allocation, one copy and one randomFillSync
 * for the padding each), and a 1 GiB download makes 32,768 of them: the allocations alone made V8 run a full GC
 * every few dozen MiB. Here a READ reply is laid out once as the finished packets ("a slab"): the file is read with
 * one preadv straight into the packets' data fields, the headers and padding are filled in, and each packet is
 * encrypted in place by ssh2's own cipher object (which counts the sequence number and writes to the socket). Slabs
 * are reused once the socket has written them. The layout follows ssh2 1.17's `allocPacket` of its native ciphers
 * exactly (checked at start-up by checkPacketInternals); any other cipher gets no slab and the reply goes the plain way.
 */

/** The parts of ssh2's cipher objects used here (lib/protocol/crypto.js, the *Binding classes). */
export interface Ssh2Cipher {
  readonly constructor: { readonly name: string };
  readonly _encBlockLen?: number;
  readonly _aadLen?: number;
  readonly _macLen?: number;
  encrypt(packet: Buffer): void;
}

/** How a cipher pads and what it appends: enough to lay out its packets. */
export interface CipherLayout {
  readonly block: number;
  /** Bytes at the front not covered by the padding rule (the length field for AEAD and ETM modes). */
  readonly aad: number;
  readonly mac: number;
}

/** The layout of ssh2's outbound cipher, or null for one without a known in-place layout (no fast path). */
export function layoutOf(cipher: Ssh2Cipher | undefined): CipherLayout | null {
  switch (cipher?.constructor.name) {
    case 'AESGCMCipherBinding':
      return { block: 16, aad: 4, mac: 16 };
    case 'ChaChaPolyCipherBinding':
      return { block: 8, aad: 4, mac: 16 };
    case 'GenericCipherBinding': {
      const { _encBlockLen: block, _aadLen: aad, _macLen: mac } = cipher as Ssh2Cipher;
      if (typeof block !== 'number' || typeof aad !== 'number' || typeof mac !== 'number') return null;
      return { block, aad, mac };
    }
    default:
      return null;
  }
}

export const sameLayout = (a: CipherLayout, b: CipherLayout | null): boolean => b !== null && a.block === b.block && a.aad === b.aad && a.mac === b.mac;

/** packet_length, padding_length, SSH_MSG_CHANNEL_DATA, recipient channel, data length. */
const HEAD = 4 + 1 + 1 + 4 + 4;
const CHANNEL_DATA = 94;

/** Padding bytes for the packets: CSPRNG output drawn from a pool, each byte used once (ssh2 asks per packet). */
class RandomPool {
  private readonly buf = Buffer.allocUnsafe(16 * 1024);
  private pos = this.buf.length;
  fill(dst: Buffer, at: number, n: number): void {
    if (this.pos + n > this.buf.length) {
      randomFillSync(this.buf);
      this.pos = 0;
    }
    this.buf.copy(dst, at, this.pos, this.pos + n);
    this.pos += n;
  }
}
const padding = new RandomPool();

export interface SlabPacket {
  /** The whole packet in the slab, MAC or tag room included. */
  readonly buf: Buffer;
  /** The channel data this packet carries (a view into buf). */
  readonly data: Buffer;
  readonly padLen: number;
}

/**
 * One SFTP reply laid out as finished CHANNEL_DATA packets for a channel and a cipher layout: `head` is written into
 * the first packet's data, `iovecs` are where the body goes (what preadv fills).
 */
export class Slab {
  readonly packets: SlabPacket[] = [];
  readonly iovecs: Buffer[] = [];
  /** The next packet to send, and how much of its data was already sent the plain way (window too small). */
  next = 0;
  sentOfNext = 0;
  private readonly mem: Buffer;

  constructor(
    readonly layout: CipherLayout,
    readonly packetSize: number,
    readonly channelId: number,
    readonly headLen: number,
    readonly bodyLen: number,
    reuse?: Buffer,
  ) {
    const total = headLen + bodyLen;
    const sizes: { d: number; pad: number; len: number }[] = [];
    let bytes = 0;
    for (let done = 0; done < total; ) {
      const d = Math.min(packetSize, total - done);
      let pktLen = HEAD + d;
      let pad = layout.block - ((pktLen - layout.aad) & (layout.block - 1));
      if (pad < 4) pad += layout.block;
      pktLen += pad;
      sizes.push({ d, pad, len: pktLen + layout.mac });
      bytes += pktLen + layout.mac;
      done += d;
    }
    this.mem = reuse !== undefined && reuse.length >= bytes ? reuse : Buffer.allocUnsafe(bytes);
    let at = 0;
    let skip = headLen;
    for (const s of sizes) {
      const buf = this.mem.subarray(at, at + s.len);
      const data = buf.subarray(HEAD, HEAD + s.d);
      this.packets.push({ buf, data, padLen: s.pad });
      const body = data.subarray(Math.min(skip, s.d));
      skip = Math.max(0, skip - s.d);
      if (body.length > 0) this.iovecs.push(body);
      at += s.len;
    }
  }

  /** The memory under the slab, to reuse for the next one. */
  get memory(): Buffer {
    return this.mem;
  }

  /** Writes `head` (the SFTP reply header) in front of the body; it must fit in the first packet. */
  setHead(head: Buffer): void {
    head.copy((this.packets[0] as SlabPacket).data, 0);
  }

  /** Fills in the SSH header and padding of packet i, ready for the cipher. */
  seal(i: number): Buffer {
    const p = this.packets[i] as SlabPacket;
    const { buf, data, padLen } = p;
    const pktLen = HEAD + data.length + padLen;
    buf.writeUInt32BE(pktLen - 4, 0);
    buf[4] = padLen;
    buf[5] = CHANNEL_DATA;
    buf.writeUInt32BE(this.channelId, 6);
    buf.writeUInt32BE(data.length, 10);
    padding.fill(buf, pktLen - padLen, padLen);
    return buf;
  }
}

const SSH2_DIR = dirname(createRequire(import.meta.url).resolve('ssh2/package.json'));

/**
 * Checked once at start-up: ssh2's native ciphers still lay out and pad packets as Slab does, encrypt in place and
 * write what they encrypted; and its server still calls a waiting channel's `_chunkcb` on a window adjust
 * (channel-sender.ts). A changed ssh2 stops the ship with this message instead of sending packets a client rejects.
 */
export function checkPacketInternals(dir = SSH2_DIR): void {
  const read = (file: string): string => {
    try {
      return readFileSync(join(dir, file), 'utf8');
    } catch {
      return '';
    }
  };
  const crypto = read('lib/protocol/crypto.js');
  const server = read('lib/server.js');
  // Each cipher's own class: the non-native classes share some of these lines, and must not stand in for them.
  const klass = (name: string): string => {
    const at = crypto.indexOf(`class ${name} {`);
    if (at < 0) return '';
    const next = crypto.indexOf('\nclass ', at + 1);
    return crypto.slice(at, next < 0 ? undefined : next);
  };
  const gcm = klass('AESGCMCipherBinding');
  const chacha = klass('ChaChaPolyCipherBinding');
  const generic = klass('GenericCipherBinding');
  const needles: [string, string, string][] = [
    ['crypto.js AESGCMCipherBinding', gcm, 'let padLen = 16 - ((pktLen - 4) & (16 - 1));'],
    ['crypto.js AESGCMCipherBinding', gcm, 'const packet = Buffer.allocUnsafe(pktLen + 16/* authTag */);'],
    ['crypto.js AESGCMCipherBinding', gcm, 'this._instance.encrypt(packet);\n\n    this._onWrite(packet);'],
    ['crypto.js ChaChaPolyCipherBinding', chacha, 'let padLen = 8 - ((pktLen - 4) & (8 - 1));'],
    ['crypto.js ChaChaPolyCipherBinding', chacha, 'const packet = Buffer.allocUnsafe(pktLen + 16/* MAC */);'],
    ['crypto.js ChaChaPolyCipherBinding', chacha, 'this._instance.encrypt(packet, this.outSeqno);\n\n    this._onWrite(packet);'],
    ['crypto.js GenericCipherBinding', generic, 'let padLen = blockLen - ((pktLen - this._aadLen) & (blockLen - 1));'],
    ['crypto.js GenericCipherBinding', generic, 'const packet = Buffer.allocUnsafe(pktLen + this._macLen);'],
    ['crypto.js GenericCipherBinding', generic, 'this._instance.encrypt(packet, this.outSeqno);\n\n    if (this._macActualLen < this._macLen) {'],
    ['crypto.js GenericCipherBinding', generic, 'this._encBlockLen = enc.cipherInfo.blockLen;'],
    ['crypto.js GenericCipherBinding', generic, 'this._aadLen = (enc.macInfo.isETM ? 4 : 0);'],
    ['server.js', server, 'channel.outgoing.window += amount;'],
    ['server.js', server, '} else if (channel._chunkcb) {\n              channel._chunkcb();'],
  ];
  for (const [where, src, needle] of needles) {
    if (!src.includes(needle)) throw new Error(`ssh2 internals are not as starphleet's SFTP expects (no ${JSON.stringify(needle.split('\n')[0])} in lib/${where.startsWith('server') ? '' : 'protocol/'}${where}; see src/server/sftp/data-packets.ts)`);
  }
}
