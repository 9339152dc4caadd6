import type { Stats } from 'node:fs';
import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import ssh2, { type Attributes, type FileEntry, type SFTPWrapper } from 'ssh2';
import { DeployedView, normalizeViewPath } from './view.js';

const { STATUS_CODE } = ssh2.utils.sftp;

/** The OpenSSH client aborts on replies over 256 KiB (see shared notes): stay well under it. */
const MAX_READ = 128 * 1024;
/** Names per READDIR reply, so a directory of 10,000 entries goes out in many small replies. */
const READDIR_BATCH = 100;
const DEFAULT_MAX_HANDLES = 256;

export interface SftpSessionOptions {
  readonly dataDir: string;
  readonly maxHandles?: number;
  /** Called when a file handle is closed (or the session ends): what was read, for the audit log. */
  readonly onFileRead?: (path: string, bytes: number) => void;
}

type Handle =
  | { readonly kind: 'file'; readonly path: string; readonly fh: FileHandle; bytes: number }
  | { readonly kind: 'dir'; readonly path: string; readonly entries: FileEntry[]; pos: number };

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const VIRTUAL_DIR_MODE = constants.S_IFDIR | 0o555;

function attrsOf(st: Stats | null): Attributes {
  if (st === null) {
    const now = Math.floor(Date.now() / 1000);
    return { mode: VIRTUAL_DIR_MODE, uid: 0, gid: 0, size: 0, atime: now, mtime: now };
  }
  return { mode: st.mode, uid: st.uid, gid: st.gid, size: st.size, atime: Math.floor(st.atimeMs / 1000), mtime: Math.floor(st.mtimeMs / 1000) };
}

/** `ls -l` style line: OpenSSH's sftp prints it as-is for `ls -l`. */
function longname(name: string, a: Attributes, nlink = 1): string {
  const type = (a.mode & constants.S_IFMT) === constants.S_IFDIR ? 'd' : (a.mode & constants.S_IFMT) === constants.S_IFLNK ? 'l' : '-';
  const bits = 'rwxrwxrwx'.split('').map((c, i) => (a.mode & (1 << (8 - i)) ? c : '-')).join('');
  const d = new Date(a.mtime * 1000);
  const when = `${MONTHS[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2)} ${String(d.getUTCHours()).padStart(2, '0')}:${String(d.getUTCMinutes()).padStart(2, '0')}`;
  return `${type}${bits} ${String(nlink).padStart(4)} ${String(a.uid).padEnd(8)} ${String(a.gid).padEnd(8)} ${String(a.size).padStart(12)} ${when} ${name}`;
}

/**
 * Serves the read-only deployed view on one SFTP channel. Reads are answered straight from file handles (many may be
 * outstanding; nothing is loaded whole), every change request is refused with permission denied.
 */
export function serveSftp(sftp: SFTPWrapper, opts: SftpSessionOptions): { close: () => Promise<void> } {
  const view = new DeployedView(opts.dataDir);
  const maxHandles = opts.maxHandles ?? DEFAULT_MAX_HANDLES;
  const handles = new Map<number, Handle>();
  let nextId = 1;

  const toBuf = (id: number): Buffer => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(id);
    return b;
  };
  const fromBuf = (b: Buffer): Handle | undefined => (b.length === 4 ? handles.get(b.readUInt32BE(0)) : undefined);
  const noSuch = (id: number): void => void sftp.status(id, STATUS_CODE.NO_SUCH_FILE);
  const denied = (id: number): void => void sftp.status(id, STATUS_CODE.PERMISSION_DENIED, 'read-only view');
  const addHandle = (reqid: number, h: Handle): boolean => {
    if (handles.size >= maxHandles) {
      sftp.status(reqid, STATUS_CODE.FAILURE, `too many open handles (limit ${maxHandles})`);
      return false;
    }
    const id = nextId++;
    handles.set(id, h);
    sftp.handle(reqid, toBuf(id));
    return true;
  };
  // A failing request must never take the ship down: answer FAILURE and carry on.
  const guard = (reqid: number, p: Promise<void>): void => {
    p.catch(() => sftp.status(reqid, STATUS_CODE.FAILURE));
  };
  const closeHandle = async (id: number, h: Handle): Promise<void> => {
    handles.delete(id);
    if (h.kind === 'file') {
      await h.fh.close().catch(() => {});
      opts.onFileRead?.(h.path, h.bytes);
    }
  };

  sftp.on('REALPATH', (reqid, path) => {
    const p = normalizeViewPath(path);
    sftp.name(reqid, [{ filename: p, longname: p, attrs: attrsOf(null) }]);
  });

  const stat = (follow: boolean) => (reqid: number, path: string) =>
    guard(reqid, (async () => {
      const r = await view.resolve(path, follow);
      if (r === null) return noSuch(reqid);
      sftp.attrs(reqid, attrsOf(r.stats));
    })());
  sftp.on('STAT', stat(true));
  sftp.on('LSTAT', stat(false));

  sftp.on('OPEN', (reqid, filename, flags) => {
    const { READ, WRITE, APPEND, CREAT, TRUNC, EXCL } = ssh2.utils.sftp.OPEN_MODE;
    if (flags & (WRITE | APPEND | CREAT | TRUNC | EXCL) || !(flags & READ)) return denied(reqid);
    guard(reqid, (async () => {
      const r = await view.resolve(filename, true);
      if (r === null || r.real === null || !r.stats?.isFile()) return noSuch(reqid);
      // O_NOFOLLOW: the path was resolved inside its jail a moment ago; a link swapped in since is not followed.
      const fh = await open(r.real, constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
      if (fh === null) return noSuch(reqid);
      if (!addHandle(reqid, { kind: 'file', path: normalizeViewPath(filename), fh, bytes: 0 })) await fh.close();
    })());
  });

  sftp.on('READ', (reqid, handle, offset, len) => {
    const h = fromBuf(handle);
    if (h?.kind !== 'file') return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    guard(reqid, (async () => {
      // allocUnsafe: the buffer is filled by the read and only the bytes read are sent.
      const buf = Buffer.allocUnsafe(Math.min(len, MAX_READ));
      const { bytesRead } = await h.fh.read(buf, 0, buf.length, offset);
      if (bytesRead === 0) return void sftp.status(reqid, STATUS_CODE.EOF);
      h.bytes += bytesRead;
      sftp.data(reqid, bytesRead === buf.length ? buf : buf.subarray(0, bytesRead));
    })());
  });

  sftp.on('FSTAT', (reqid, handle) => {
    const h = fromBuf(handle);
    if (h === undefined) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    guard(reqid, (async () => {
      if (h.kind === 'file') sftp.attrs(reqid, attrsOf(await h.fh.stat()));
      else sftp.attrs(reqid, attrsOf((await view.resolve(h.path, true))?.stats ?? null));
    })());
  });

  sftp.on('OPENDIR', (reqid, path) =>
    guard(reqid, (async () => {
      const p = normalizeViewPath(path);
      const list = await view.list(p);
      if (list === null) return noSuch(reqid);
      const entries = list.map(({ name, stats }) => {
        const attrs = attrsOf(stats);
        return { filename: name, longname: longname(name, attrs, stats?.nlink ?? 2), attrs };
      });
      addHandle(reqid, { kind: 'dir', path: p, entries, pos: 0 });
    })()),
  );

  sftp.on('READDIR', (reqid, handle) => {
    const h = fromBuf(handle);
    if (h?.kind !== 'dir') return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    if (h.pos >= h.entries.length) return void sftp.status(reqid, STATUS_CODE.EOF);
    const batch = h.entries.slice(h.pos, h.pos + READDIR_BATCH);
    h.pos += batch.length;
    sftp.name(reqid, batch);
  });

  sftp.on('READLINK', (reqid, path) =>
    guard(reqid, (async () => {
      const target = await view.readlink(path);
      if (target === null) return noSuch(reqid);
      sftp.name(reqid, [{ filename: target, longname: target, attrs: attrsOf(null) }]);
    })()),
  );

  sftp.on('CLOSE', (reqid, handle) => {
    const id = handle.length === 4 ? handle.readUInt32BE(0) : -1;
    const h = handles.get(id);
    if (h === undefined) return void sftp.status(reqid, STATUS_CODE.FAILURE, 'bad handle');
    guard(reqid, closeHandle(id, h).then(() => void sftp.status(reqid, STATUS_CODE.OK)));
  });

  // Read-only, fail closed: every request that would change something.
  for (const ev of ['WRITE', 'FSETSTAT', 'SETSTAT', 'REMOVE', 'RMDIR', 'MKDIR', 'RENAME', 'SYMLINK'] as const) {
    sftp.on(ev, (reqid: number) => denied(reqid));
  }
  sftp.on('EXTENDED', (reqid: number) => void sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED));

  return {
    async close() {
      for (const [id, h] of [...handles]) await closeHandle(id, h);
    },
  };
}
