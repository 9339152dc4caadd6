import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import type { ServerChannel } from 'ssh2';
import { readOnlyMode } from './attrs.js';
import { SOCKET_HIGH, whenBelow, type Outbound } from './outbound.js';
import { DeployedView, normalizeViewPath } from './view.js';
import { parseScpCommand, type ScpCommand } from './scp-command.js';

const CHUNK = 256 * 1024;

/** What a legacy scp session needs: the view, the socket to watch, and where reads are reported. */
export interface LegacyScpContext {
  readonly dataDir: string;
  /** The connection's socket (outbound.ts `outboundOf(channel)`): file bytes wait while it is backed up. */
  readonly socket: Outbound;
  /** Called after each file sent, for the audit log. */
  readonly onFileRead?: (path: string, bytes: number) => void;
  readonly onActivity?: () => void;
  /** Called once with the exit status sent. */
  readonly onEnd?: (exitCode: number) => void;
}

/** Bytes from the sink, read one response at a time. */
class Responses {
  private buf: Buffer = Buffer.alloc(0);
  private wake: (() => void) | null = null;
  private ended = false;

  constructor(channel: ServerChannel) {
    channel.on('data', (d: Buffer) => {
      this.buf = this.buf.length === 0 ? d : Buffer.concat([this.buf, d]);
      this.wake?.();
    });
    const stop = (): void => {
      this.ended = true;
      this.wake?.();
    };
    channel.on('end', stop);
    channel.on('close', stop);
  }

  /** The sink's answer: 0 ok, 1 a warning (its message), 2 fatal; throws when the sink went away. */
  async next(): Promise<{ code: number; message: string }> {
    for (;;) {
      const code = this.buf[0];
      if (code === 0) {
        this.buf = this.buf.subarray(1);
        return { code, message: '' };
      }
      const nl = this.buf.indexOf(0x0a);
      if (code !== undefined && nl > 0) {
        const message = this.buf.subarray(1, nl).toString('utf8');
        this.buf = this.buf.subarray(nl + 1);
        return { code, message };
      }
      if (code !== undefined && code !== 1 && code !== 2) throw new Error(`scp: protocol error: unexpected byte ${code}`);
      if (this.ended) throw new Error('scp: the client went away');
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = null;
    }
  }
}

class Sender {
  private failed = false;
  private readonly responses: Responses;
  constructor(private readonly channel: ServerChannel, private readonly view: DeployedView, private readonly cmd: Extract<ScpCommand, { kind: 'download' }>, private readonly ctx: LegacyScpContext) {
    this.responses = new Responses(channel);
  }

  get exitCode(): number {
    return this.failed ? 1 : 0;
  }

  async run(): Promise<void> {
    await this.expectOk();
    for (const path of this.cmd.paths) await this.send(normalizeViewPath(path), path);
  }

  /** A problem with one path: told to the client as a warning (it prints it), the rest goes on, the exit is 1. */
  private warn(message: string): Promise<void> {
    this.failed = true;
    return this.write(Buffer.from(`\x01scp: ${message}\n`));
  }

  private async expectOk(): Promise<boolean> {
    const r = await this.responses.next();
    if (r.code === 2) throw new Error(r.message);
    if (r.code === 1) {
      this.failed = true;
      return false;
    }
    return true;
  }

  private write(b: Buffer): Promise<void> {
    this.ctx.onActivity?.();
    return new Promise<void>((resolve) => {
      if (this.channel.write(b)) resolve();
      else this.channel.once('drain', resolve);
    }).then(() => whenBelow(this.ctx.socket, SOCKET_HIGH));
  }

  private async times(st: Stats, mtime: number | null): Promise<boolean> {
    if (!this.cmd.preserve) return true;
    await this.write(Buffer.from(`T${mtime ?? Math.floor(st.mtimeMs / 1000)} 0 ${Math.floor(st.atimeMs / 1000)} 0\n`));
    return this.expectOk();
  }

  private async send(viewPath: string, asked: string): Promise<void> {
    const r = await this.view.resolve(viewPath, true);
    if (r === null) return this.warn(`${asked}: No such file or directory`);
    if (r.real === null || r.stats === null) {
      // A made-up directory of the view (/, /services, ...).
      return this.cmd.recursive ? this.sendDir(viewPath, null, r.mtime) : this.warn(`${asked}: not a regular file`);
    }
    const name = posix.basename(viewPath) || '/';
    if (r.stats.isDirectory()) {
      if (!this.cmd.recursive) return this.warn(`${asked}: not a regular file`);
      return this.sendDir(viewPath, r.stats, r.mtime);
    }
    if (!r.stats.isFile()) return this.warn(`${asked}: not a regular file`);
    const fh = await open(r.real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
    if (fh === null) return this.warn(`${asked}: No such file or directory`);
    try {
      const st = await fh.stat();
      if (!(await this.times(st, r.mtime))) return;
      const mode = (readOnlyMode(st.mode) & 0o7777).toString(8).padStart(4, '0');
      await this.write(Buffer.from(`C${mode} ${st.size} ${name}\n`));
      if (!(await this.expectOk())) return;
      let sent = 0;
      while (sent < st.size) {
        // A fresh buffer per chunk: the channel may still hold the last one until the client's window opens.
        const buf = Buffer.allocUnsafe(Math.min(CHUNK, st.size - sent));
        const { bytesRead } = await fh.read(buf, 0, buf.length, sent);
        // The file shrank under us (a live log): pad to the size announced, and say so.
        if (bytesRead === 0) {
          await this.write(Buffer.alloc(st.size - sent));
          this.ctx.onFileRead?.(viewPath, sent);
          return this.warn(`${asked}: file changed size while being sent`);
        }
        await this.write(bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
        sent += bytesRead;
      }
      await this.write(Buffer.from([0]));
      this.ctx.onFileRead?.(viewPath, sent);
      await this.expectOk();
    } finally {
      await fh.close().catch(() => {});
    }
  }

  private async sendDir(viewPath: string, st: Stats | null, mtime: number | null): Promise<void> {
    const list = await this.view.list(viewPath);
    if (list === null) return this.warn(`${viewPath}: No such file or directory`);
    if (st !== null && !(await this.times(st, mtime))) return;
    if (st === null && this.cmd.preserve) {
      const t = mtime ?? Math.floor(Date.now() / 1000);
      await this.write(Buffer.from(`T${t} 0 ${t} 0\n`));
      if (!(await this.expectOk())) return;
    }
    await this.write(Buffer.from(`D0555 0 ${posix.basename(viewPath) || 'root'}\n`));
    if (!(await this.expectOk())) return;
    for (const e of list) await this.send(posix.join(viewPath, e.name), posix.join(viewPath, e.name));
    await this.write(Buffer.from('E\n'));
    await this.expectOk();
  }
}

/**
 * Serves one legacy scp exec (what `scp -O` runs on the server: `scp [-r] [-p] [-d] [-v] -f|-t [--] path...`) from
 * the read-only deployed view, the same view SFTP shows. `command` is the exec's command line exactly as the client
 * sent it (parsed here like a POSIX shell would split it, without globbing or expansion).
 *
 * - `-f` (download): sends the files (and with `-r` whole directories; `-p` keeps the times the view shows), then
 *   exit status 0, or 1 if any path was missing (each told to the client as `scp: <path>: ...`).
 * - `-t` (upload) and anything else: refused with `scp: <target>: Permission denied`, exit status 1; nothing is
 *   written.
 *
 * It takes over the channel: it sends the exit status and ends the channel itself. The caller only decides that the
 * request is allowed (the gate) and audits the session; `ctx.onEnd` reports the exit status.
 */
export function serveLegacyScp(channel: ServerChannel, command: string, ctx: LegacyScpContext): void {
  channel.on('error', () => {});
  let done = false;
  const finish = (code: number): void => {
    if (done) return;
    done = true;
    if (channel.writable) {
      channel.exit(code);
      channel.end();
    }
    ctx.onEnd?.(code);
  };
  channel.on('close', () => finish(1));
  const parsed = parseScpCommand(command);
  if (parsed.kind !== 'download') {
    const what = parsed.kind === 'upload' ? parsed.target : command;
    const message = parsed.kind === 'upload' ? `${what}: Permission denied (read-only view)` : `${parsed.error}`;
    channel.write(Buffer.from(`\x01scp: ${message}\n`));
    finish(1);
    return;
  }
  const sender = new Sender(channel, new DeployedView(ctx.dataDir), parsed, ctx);
  sender.run().then(
    () => finish(sender.exitCode),
    (e: unknown) => {
      if (channel.writable) channel.stderr.write(`scp: ${(e as Error).message}\n`);
      finish(1);
    },
  );
}
