import { open } from 'node:fs/promises';
import { posix } from 'node:path';
import * as tar from 'tar';

/** Entry types a layer may hold: files, directories, links inside the tree. Devices and fifos are refused. */
const ALLOWED = new Set(['File', 'OldFile', 'ContiguousFile', 'Directory', 'SymbolicLink', 'Link']);

/** Where a link or entry path lands, relative to the tree's root; null when it climbs out (or is absolute). */
function inside(path: string): boolean {
  if (path.startsWith('/')) return false;
  const n = posix.normalize(path);
  return n !== '..' && !n.startsWith('../');
}

/**
 * Checks that `file` is a gzip tar whose every member stays inside the tree it is unpacked into: no absolute path, no
 * `..` segment, no device or fifo, no symlink or hard link leading out. Returns the first problem, or null.
 * Read with node-tar's lister, which yields entry paths as stored (the stripping of `/` and `..` is the unpacker's).
 */
export async function checkLayerArchive(file: string): Promise<string | null> {
  const fh = await open(file, 'r');
  const head = Buffer.alloc(2);
  try {
    await fh.read(head, 0, 2, 0);
  } finally {
    await fh.close();
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return 'not a gzip file (a layer is a .tar.gz)';
  let problem: string | null = null;
  let entries = 0;
  const note = (p: string): void => {
    problem ??= p;
  };
  try {
    await tar.t({
      file,
      strict: true,
      onReadEntry: (entry) => {
        entries++;
        const path = entry.path;
        if (path.startsWith('/')) note(`member ${JSON.stringify(path)} has an absolute path`);
        else if (path.split('/').includes('..')) note(`member ${JSON.stringify(path)} contains '..'`);
        else if (!ALLOWED.has(entry.type)) note(`member ${JSON.stringify(path)} is a ${entry.type} (only files, directories and links inside the tree)`);
        else if (entry.type === 'SymbolicLink') {
          const target = entry.linkpath ?? '';
          if (!inside(posix.join(posix.dirname(path), target)) || target.startsWith('/')) note(`member ${JSON.stringify(path)} is a link leading out of the tree (-> ${JSON.stringify(target)})`);
        } else if (entry.type === 'Link') {
          const target = entry.linkpath ?? '';
          if (!inside(target) || target.split('/').includes('..')) note(`member ${JSON.stringify(path)} is a hard link leading out of the tree (-> ${JSON.stringify(target)})`);
        }
        entry.resume();
      },
    });
  } catch (e) {
    return `not a valid tar archive: ${(e as Error).message}`;
  }
  if (problem === null && entries === 0) return 'the archive holds no members';
  return problem;
}
