import { archiveLimits } from '../archive/limits.js';
import { ArchiveRefused } from '../archive/refusal.js';
import { checkArchive } from '../archive/unpack.js';

/**
 * Checks that `file` is a gzip tar the ship would unpack: the rules of src/archive (every member placed physically,
 * no link chain, no link or hard link leading out, no absolute link, devices and fifos refused, the bounds of
 * STARPHLEET_ARCHIVE_MAX_*), run on a model of the tree so nothing is written. Returns the first problem (naming the
 * member), or null. The caller names the archive.
 */
export async function checkLayerArchive(file: string): Promise<string | null> {
  try {
    const members = await checkArchive({ file, label: file, links: 'inside' }, archiveLimits());
    return members === 0 ? 'the archive holds no members' : null;
  } catch (e) {
    if (!(e instanceof ArchiveRefused)) throw e;
    if (e.member === null && /Unrecognized archive format/.test(e.reason)) return 'the archive holds no members';
    return e.member === null ? e.reason : `member ${JSON.stringify(e.member.slice(0, 300))}: ${e.reason}`;
  }
}
