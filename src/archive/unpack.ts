import { lstat, mkdir } from 'node:fs/promises';
import type { ReadEntry } from 'tar';
import type { ArchiveLimits } from './limits.js';
import { isAncestorOrSelf, joined, linkTarget, memberSegments } from './member-path.js';
import { readMembers } from './read.js';
import { ArchiveRefused } from './refusal.js';
import { DiskTree, ModelTree, type Tree } from './tree.js';

/**
 * What a symbolic link of an archive may point at.
 * - inside: a path inside the tree, reached without passing another link (no absolute target, no `..` out, no link
 *   to itself or a directory above it, no chain). Every archive that comes from someone else: registry uploads,
 *   another ship's layers.
 * - leaf: any target, kept as the archive says. Only for layers the ship packed itself from a real tree (a service's
 *   source and build, whose links are the service's own: a venv's `python -> /usr/bin/python3` means the sandbox's
 *   python). Such a link is still never followed here: nothing is written through it, whichever layer comes next.
 */
export type LinkPolicy = 'inside' | 'leaf';

export interface ArchiveInput {
  readonly file: string;
  /** How errors name the archive (a layer's component and version, an upload's hash, another ship's address). */
  readonly label: string;
  readonly links: LinkPolicy;
}

const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);

/** The tar stream around `bytes` of content and `members` headers (each header and its padding under 1.5 KiB). */
function rawBound(limits: ArchiveLimits): number {
  return limits.maxBytes + limits.maxMembers * 1536 + 1024 * 1024;
}

/**
 * One tree made of archives in turn (a release's layers), each member placed by the rules below before anything of it
 * lands: its path is resolved segment by segment against what is really there (what this archive and the ones before
 * it made), so a parent that is a link is refused, never followed; a hard link may only name a file of the tree; the
 * bounds count across all the archives.
 */
export class UntrustedUnpack {
  private members = 0;
  private bytes = 0;
  /** Directories known to be real: they change only through this object. */
  private readonly dirs = new Set<string>(['']);
  /** The `inside` links made, by path: checked again at the end, when every link of the tree is known. */
  private readonly links = new Map<string, { label: string; member: string; at: string[]; target: string[] }>();

  constructor(
    private readonly tree: Tree,
    private readonly limits: ArchiveLimits,
  ) {}

  async add(a: ArchiveInput): Promise<number> {
    return readMembers(a.file, a.label, rawBound(this.limits), (e) => this.member(e, a));
  }

  /** A link made early may pass through one made later (`b -> a/x`, then `a -> c`): the chain shows only now. */
  async finish(): Promise<void> {
    for (const l of this.links.values()) {
      if ((await this.tree.kind(l.at)) !== 'symlink') continue;
      const through = await this.linkOn(l.target);
      if (through !== null) throw new ArchiveRefused(l.label, l.member, `is a link through ${through}, itself a link (a link chain)`);
    }
  }

  private async member(e: ReadEntry, a: ArchiveInput): Promise<void> {
    const refuse = (why: string): ArchiveRefused => new ArchiveRefused(a.label, e.path, why);
    const { maxMembers, maxDepth, maxBytes } = this.limits;
    if (++this.members > maxMembers) throw refuse(`one member more than ${maxMembers} (STARPHLEET_ARCHIVE_MAX_MEMBERS)`);
    const segs = memberSegments(e.path);
    if (typeof segs === 'string') throw refuse(segs);
    if (segs.length > maxDepth) throw refuse(`its path is ${segs.length} deep, more than ${maxDepth} (STARPHLEET_ARCHIVE_MAX_DEPTH)`);
    const type = e.type;
    const kind = FILE_TYPES.has(type) ? 'file' : type === 'Directory' ? 'dir' : type === 'SymbolicLink' ? 'symlink' : type === 'Link' ? 'link' : null;
    if (kind === null) throw refuse(`is a ${type}: only files, directories and links inside the tree`);
    if (segs.length === 0) {
      if (kind === 'dir') return void e.resume();
      throw refuse('names the root of the tree');
    }
    await this.parents(segs, refuse);
    const existing = await this.tree.kind(segs);
    if (kind === 'dir') {
      if (existing !== 'dir') {
        if (existing !== 'none') await this.drop(segs);
        await this.tree.mkdir(segs);
      }
      this.dirs.add(joined(segs));
      return void e.resume();
    }
    if (kind === 'file') {
      if (this.bytes + e.size > maxBytes) throw refuse(`takes the tree past ${maxBytes} bytes (STARPHLEET_ARCHIVE_MAX_BYTES): refused before it is written`);
      this.bytes += e.size;
      if (existing !== 'none') await this.drop(segs);
      // Modes as a release needs them: readable, executable where the archive says so; never setuid, setgid or sticky.
      return this.tree.writeFile(segs, e, ((e.mode ?? 0o644) & 0o111) !== 0 ? 0o755 : 0o644, e.mtime);
    }
    const target = e.linkpath ?? '';
    if (target === '' || target.includes('\0')) throw refuse('is a link without a usable target');
    if (kind === 'symlink') {
      if (a.links === 'inside') {
        if (target.startsWith('/')) throw refuse(`is a link to the absolute path ${JSON.stringify(target)}`);
        const to = linkTarget(segs, target);
        if (to === null) throw refuse(`is a link leading out of the tree (-> ${JSON.stringify(target)})`);
        if (isAncestorOrSelf(to, segs)) throw refuse(`is a link to itself or a directory above it (-> ${JSON.stringify(target)}): a loop`);
        const through = await this.linkOn(to);
        if (through !== null) throw refuse(`is a link through ${through}, itself a link (a link chain)`);
        this.links.set(joined(segs), { label: a.label, member: e.path, at: segs, target: to });
      }
      if (existing !== 'none') await this.drop(segs);
      await this.tree.symlink(segs, target);
      return void e.resume();
    }
    // A hard link names another member by its path in the archive: a file of this tree, reached without a link.
    const to = memberSegments(target);
    if (typeof to === 'string') throw refuse(`is a hard link whose target is refused: ${to}`);
    if (to.length === 0 || joined(to) === joined(segs)) throw refuse(`is a hard link to ${JSON.stringify(target)}, not another file`);
    const via = await this.linkOn(to.slice(0, -1));
    if (via !== null) throw refuse(`is a hard link through ${via}, a symbolic link`);
    if ((await this.tree.kind(to)) !== 'file') throw refuse(`is a hard link to ${JSON.stringify(target)}, which is not a file of this tree`);
    if (existing !== 'none') await this.drop(segs);
    await this.tree.link(segs, to);
    e.resume();
  }

  /** Every directory above segs is real (made here when missing); a link or a file there refuses the member. */
  private async parents(segs: readonly string[], refuse: (why: string) => ArchiveRefused): Promise<void> {
    for (let i = 1; i < segs.length; i++) {
      const up = segs.slice(0, i);
      const key = joined(up);
      if (this.dirs.has(key)) continue;
      const k = await this.tree.kind(up);
      if (k === 'symlink') throw refuse(`its parent ${key} is a symbolic link: nothing is written through a link`);
      if (k === 'none') await this.tree.mkdir(up);
      else if (k !== 'dir') throw refuse(`its parent ${key} is not a directory`);
      this.dirs.add(key);
    }
  }

  /** The first path on the way to `segs` (itself included) that is a symbolic link, or null. */
  private async linkOn(segs: readonly string[]): Promise<string | null> {
    for (let i = 1; i <= segs.length; i++) {
      const up = segs.slice(0, i);
      if ((await this.tree.kind(up)) === 'symlink') return joined(up);
    }
    return null;
  }

  private async drop(segs: readonly string[]): Promise<void> {
    const key = joined(segs);
    for (const d of [...this.dirs]) if (d === key || d.startsWith(`${key}/`)) this.dirs.delete(d);
    this.links.delete(key);
    await this.tree.remove(segs);
  }
}

/** Checks one archive alone, writing nothing: what an upload or another ship's layer must pass before it is kept. */
export async function checkArchive(a: ArchiveInput, limits: ArchiveLimits): Promise<number> {
  const u = new UntrustedUnpack(new ModelTree(), limits);
  const members = await u.add(a);
  await u.finish();
  return members;
}

/** Unpacks the archives in order into `dest` (made here, a real directory): later members replace earlier ones. */
export async function unpackArchives(dest: string, archives: readonly ArchiveInput[], limits: ArchiveLimits): Promise<void> {
  await mkdir(dest, { recursive: true });
  const st = await lstat(dest);
  if (!st.isDirectory()) throw new Error(`${dest}: not a directory to unpack into`);
  const u = new UntrustedUnpack(new DiskTree(dest), limits);
  for (const a of archives) await u.add(a);
  await u.finish();
}
