import type { ServerChannel } from 'ssh2';
import { ChannelSender } from './channel-sender.js';
import { batchWrites, SOCKET_HIGH, whenBelow, type Outbound } from './outbound.js';
import { answer, closeHandle, Handles, ReadBuffers, replyCost, type Answer, type RequestContext } from './requests.js';
import type { Uploads } from './uploads.js';
import { DeployedView, type ViewScope } from './view.js';
import { DATA_HEADER, FXP, MAX_READ, PacketReader, reply } from './wire.js';

const DEFAULT_MAX_HANDLES = 256;
/**
 * Reply bytes one session may hold at once (reads in flight plus replies the channel has not taken yet): sixteen
 * full reads, enough to keep the client's window full.
 */
export const DEFAULT_REPLY_BUDGET = 16 * (DATA_HEADER + MAX_READ);

export interface SftpSessionOptions {
  readonly dataDir: string;
  /** The connection's socket (outbound.ts): ssh2 writes to it without backpressure, so its queue is watched here. */
  readonly socket: Outbound;
  readonly maxHandles?: number;
  readonly replyBudget?: number;
  /** Called when a file handle is closed (or the session ends): what was read, for the audit log. */
  readonly onFileRead?: (path: string, bytes: number) => void;
  /** Called for every request: a long download is activity. */
  readonly onActivity?: () => void;
  /** Called once when the session ends (client EOF after all replies went out, or the channel closed). */
  readonly onEnd?: () => void;
  /** What of the view the user sees (view.ts): admirals all, other ships only the registry. */
  readonly scope?: ViewScope;
  /** Uploads into / and /incoming/ (admirals only); partial ones are discarded when the session ends. */
  readonly uploads?: Uploads;
}

interface Job {
  answer: Answer | null;
  readonly cost: number;
}

/**
 * Serves SFTP version 3 for the read-only deployed view on a session channel, instead of ssh2's SFTP server, whose
 * VERSION reply carries no extensions and whose replies cannot be read into in place.
 *
 * Requests are started in order as long as the session's reply budget allows (each reserves the most its reply can
 * take), run concurrently (reads go to the thread pool straight into the reply's buffer), and their replies are
 * written in request order. A reply's bytes leave the budget only when the channel has handed them to the
 * connection, which happens only inside the client's window; and no new request starts while the socket under it is
 * backed up. So a client that stops reading stops the session after at most `replyBudget` bytes, the channel is
 * paused, ssh2 stops adjusting the client's window and the client cannot send more requests either.
 */
export function serveSftp(channel: ServerChannel, opts: SftpSessionOptions): { close: () => Promise<void> } {
  const budget = opts.replyBudget ?? DEFAULT_REPLY_BUDGET;
  const sender = new ChannelSender(channel, opts.socket);
  const ctx: RequestContext = {
    view: new DeployedView(opts.dataDir, opts.scope),
    handles: new Handles(opts.maxHandles ?? DEFAULT_MAX_HANDLES),
    buffers: new ReadBuffers(Math.ceil(budget / (DATA_HEADER + MAX_READ))),
    dataDir: opts.dataDir,
    onFileRead: opts.onFileRead,
    uploads: opts.uploads,
    slabs: sender,
  };
  batchWrites(opts.socket);
  const reader = new PacketReader(Math.ceil(budget / (DATA_HEADER + MAX_READ)));
  const jobs: Job[] = [];
  let reserved = 0;
  let next: Buffer | null = null;
  let initialized = false;
  let waitingForSocket = false;
  let clientDone = false;
  let ended = false;

  const closeAll = async (): Promise<void> => {
    for (const h of ctx.handles.takeAll()) await closeHandle(h, ctx);
    await ctx.uploads?.discardAll();
  };
  const end = (): void => {
    if (ended) return;
    ended = true;
    void closeAll();
    opts.onEnd?.();
  };
  // ssh2 sends nothing after the channel ended, so the exit status goes first: `scp` exits 0, `sftp` exits on `bye`.
  const finishIfDone = (): void => {
    if (!clientDone || ended || jobs.length > 0 || next !== null || !sender.idle) return;
    channel.exit(0);
    channel.end();
    end();
  };
  const fail = (): void => {
    end();
    channel.close();
  };

  const flush = (): void => {
    while (jobs.length > 0 && (jobs[0] as Job).answer !== null) {
      const job = jobs.shift() as Job;
      const a = job.answer as Answer;
      const done = (): void => {
        reserved -= job.cost;
        if ('out' in a) a.release?.();
        pump();
      };
      if ('slab' in a) sender.sendSlab(a.slab, done);
      else sender.send(a.out, done);
    }
    finishIfDone();
  };

  const start = (packet: Buffer): void => {
    opts.onActivity?.();
    if (!initialized) {
      // The first packet must be INIT; whatever version the client speaks, the answer is 3 (ours).
      if (packet[0] !== FXP.INIT) return fail();
      initialized = true;
      const job: Job = { answer: { out: reply.version() }, cost: 0 };
      jobs.push(job);
      return flush();
    }
    const job: Job = { answer: null, cost: replyCost(packet) };
    reserved += job.cost;
    jobs.push(job);
    void answer(packet, ctx).then((a) => {
      reader.release(packet);
      job.answer = a;
      flush();
    });
  };

  const pump = (): void => {
    if (ended) return;
    for (;;) {
      if (next === null) {
        try {
          next = reader.next();
        } catch {
          return fail();
        }
        if (next === null) break;
      }
      const cost = replyCost(next);
      const overBudget = reserved > 0 && reserved + cost > budget;
      const socketFull = opts.socket.writableLength >= SOCKET_HIGH;
      if (overBudget || socketFull) {
        channel.pause();
        if (socketFull && !waitingForSocket) {
          waitingForSocket = true;
          void whenBelow(opts.socket, SOCKET_HIGH).then(() => {
            waitingForSocket = false;
            pump();
          });
        }
        return;
      }
      const packet = next;
      next = null;
      start(packet);
    }
    if (channel.isPaused()) channel.resume();
    finishIfDone();
  };

  channel.on('data', (data: Buffer) => {
    reader.push(data);
    pump();
  });
  channel.on('end', () => {
    clientDone = true;
    finishIfDone();
  });
  channel.on('close', () => {
    end();
    sender.close();
  });
  channel.on('error', () => {});

  return { close: closeAll };
}
