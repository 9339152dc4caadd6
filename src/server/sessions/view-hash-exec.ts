import type { ServerChannel } from 'ssh2';
import { finishChannel, type ProcessEnd, type RunningProgram } from './process-end.js';
import { hashFile } from '../sftp/file-hash.js';
import { coreutilsLine, quoteName, type HashCommand } from '../sftp/hash-command.js';
import { DeployedView, type Resolved } from '../sftp/view.js';

/**
 * An admiral's `md5sum|sha1sum|sha256sum /view/path...` (hash-command.ts) answered from the SFTP view, as SFTP servers
 * with a virtual tree do (SFTPGo): rclone checks every copy with `md5sum <path>` over an exec, and in the admiral's
 * shell the view's paths do not exist. Only when every operand is in the view: otherwise `fallback` runs the command in
 * the shell, as before (a host path keeps meaning the host's file). Output, messages and exit status are coreutils'.
 */
export function serveViewHash(
  channel: ServerChannel,
  cmd: HashCommand,
  o: { readonly dataDir: string; readonly fallback: () => RunningProgram; readonly onEnd: (end: ProcessEnd) => void; readonly onFileRead: (path: string, bytes: number) => void },
): RunningProgram {
  let program: RunningProgram | null = null;
  let hungUp = false;
  const view = new DeployedView(o.dataDir, 'admiral');
  void (async () => {
    const found = await Promise.all(cmd.operands.map((p) => view.resolve(p, true)));
    if (hungUp) return;
    if (found.some((r) => r === null)) {
      program = o.fallback();
      return;
    }
    const end = { exitCode: await hashAll(channel, cmd, found as Resolved[], o.onFileRead, () => hungUp), signal: null };
    if (!hungUp) finishChannel(channel, end);
    o.onEnd(end);
  })().catch((e: unknown) => {
    // Nothing above should throw; if it does, the client gets an answer and the ship carries on.
    channel.stderr.write(`${cmd.program}: ${(e as Error).message}\n`);
    const end = { exitCode: 1, signal: null };
    finishChannel(channel, end);
    o.onEnd(end);
  });
  return {
    signal: (name) => program?.signal(name) ?? false,
    hangup: () => {
      hungUp = true;
      program?.hangup();
    },
  };
}

async function hashAll(channel: ServerChannel, cmd: HashCommand, found: readonly Resolved[], onFileRead: (path: string, bytes: number) => void, gone: () => boolean): Promise<number> {
  let status = 0;
  for (const [i, name] of cmd.operands.entries()) {
    if (gone()) break;
    const r = found[i] as Resolved;
    const fail = (why: string): void => {
      channel.stderr.write(`${cmd.program}: ${quoteName(name)}: ${why}\n`);
      status = 1;
    };
    if (r.real === null || r.stats?.isDirectory()) {
      fail('Is a directory');
      continue;
    }
    try {
      const { digests, bytes } = await hashFile(r.real, cmd.hash);
      onFileRead(name, bytes);
      channel.write(coreutilsLine((digests[0] as Buffer).toString('hex'), name));
    } catch (e) {
      fail(errnoText(e));
    }
  }
  return status;
}

const ERRNO_TEXT: Readonly<Record<string, string>> = {
  EACCES: 'Permission denied',
  ENOENT: 'No such file or directory',
  EISDIR: 'Is a directory',
  ELOOP: 'Too many levels of symbolic links',
  EIO: 'Input/output error',
};

function errnoText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code ?? '';
  return ERRNO_TEXT[code] ?? (e as Error).message;
}
