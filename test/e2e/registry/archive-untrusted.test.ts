import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { gzipSync } from 'node:zlib';
import { DEFAULT_ARCHIVE_LIMITS, type ArchiveLimits } from '../../../src/archive/limits.js';
import { ArchiveRefused } from '../../../src/archive/refusal.js';
import { checkArchive, unpackArchives, type ArchiveInput } from '../../../src/archive/unpack.js';
import { writeTar, type TarMember } from '../../helpers/registry.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * The untrusted archive rules (src/archive), attacked as a hostile layer would: each archive is both checked alone
 * (what addver and a follower of another ship run) and unpacked into a release dir three levels below the test's
 * root, with `<root>/outside` the place an escape would write (checked on the host after every attempt).
 */
function setup(): { root: string; dest: string; outside: string; up: string } {
  const root = tmpDir('sp-untar-');
  const outside = join(root, 'outside');
  mkdirSync(outside);
  // dest is <root>/x/y/release: three `..` from it are the root.
  return { root, dest: join(root, 'x', 'y', 'release'), outside, up: '../../..' };
}

async function refusedBoth(file: string, why: RegExp, limits: ArchiveLimits = DEFAULT_ARCHIVE_LIMITS, before: ArchiveInput[] = []): Promise<void> {
  const { dest, outside } = setup();
  const input: ArchiveInput = { file, label: 'layer evil@v1', links: 'inside' };
  if (before.length === 0) {
    const alone = await checkArchive(input, limits).then(() => null, (e: unknown) => e);
    assert.ok(alone instanceof ArchiveRefused, `the check refuses ${file}: ${String(alone)}`);
    assert.match(alone.message, why);
    assert.match(alone.message, /^layer evil@v1: /, 'the error names the archive');
  }
  const unpacked = await unpackArchives(dest, [...before, input], limits).then(() => null, (e: unknown) => e);
  assert.ok(unpacked instanceof ArchiveRefused, `the unpack refuses ${file}: ${String(unpacked)}`);
  assert.match(unpacked.message, why);
  assert.deepEqual(readdirNames(outside), [], 'nothing written outside the release');
}

function readdirNames(dir: string): string[] {
  return existsSync(dir) ? readdirSync(dir) : [];
}

function tar(dir: string, name: string, members: readonly TarMember[]): string {
  const f = join(dir, `${name}.tar.gz`);
  writeTar(f, members);
  return f;
}

describe('untrusted archives (src/archive)', () => {
  const work = tmpDir('sp-untar-files-');

  it("refuses the reported escape: a -> ., then a/a/a/b -> ../../.. (inside by its text), then b/outside/ESCAPED", async () => {
    const { up } = setup();
    const f = tar(work, 'reported', [
      { name: 'a', symlink: '.' },
      { name: 'a/a/a/b', symlink: up },
      { name: 'b/outside/ESCAPED', file: 'pwned' },
    ]);
    await refusedBoth(f, /member "a": is a link to itself or a directory above it/);
  });

  it('refuses self-referencing links and links to a directory above them', async () => {
    await refusedBoth(tar(work, 'self', [{ name: 'a', symlink: 'a' }]), /member "a": is a link to itself/);
    await refusedBoth(tar(work, 'dot', [{ name: 'd/', dir: true }, { name: 'd/up', symlink: '..' }]), /member "d\/up": is a link to itself or a directory above it/);
  });

  it('refuses link chains, whichever link comes first', async () => {
    const d = [{ name: 'd/', dir: true } as const, { name: 'd/x', file: 'x' }];
    await refusedBoth(tar(work, 'chain', [...d, { name: 'l1', symlink: 'd' }, { name: 'l2', symlink: 'l1/x' }]), /member "l2": is a link through l1, itself a link/);
    await refusedBoth(tar(work, 'chain-late', [...d, { name: 'l2', symlink: 'l1/x' }, { name: 'l1', symlink: 'd' }]), /member "l2": is a link through l1, itself a link/);
    await refusedBoth(tar(work, 'chain-end', [...d, { name: 'l1', symlink: 'd/x' }, { name: 'l2', symlink: 'l1' }]), /member "l2": is a link through l1/);
  });

  it('refuses absolute links and links leading out', async () => {
    const { outside } = setup();
    await refusedBoth(tar(work, 'abs', [{ name: 'l', symlink: outside }]), /member "l": is a link to the absolute path/);
    await refusedBoth(tar(work, 'out', [{ name: 'sub/l', symlink: '../../outside' }]), /member "sub\/l": is a link leading out of the tree/);
  });

  it('refuses hard links out of the tree, to a link, or through one', async () => {
    const { outside } = setup();
    writeFileSync(join(outside, '..', 'secret'), 'root only');
    await refusedBoth(tar(work, 'hard-abs', [{ name: 'h', hardlink: join(outside, '..', 'secret') }]), /member "h": is a hard link whose target is refused: it has an absolute path/);
    await refusedBoth(tar(work, 'hard-up', [{ name: 'h', hardlink: '../../../secret' }]), /member "h": is a hard link whose target is refused: its path contains '\.\.'/);
    await refusedBoth(
      tar(work, 'hard-via', [{ name: 'd/', dir: true }, { name: 'd/f', file: 'f' }, { name: 'l', symlink: 'd' }, { name: 'h', hardlink: 'l/f' }]),
      /member "h": is a hard link through l, a symbolic link/,
    );
    await refusedBoth(tar(work, 'hard-missing', [{ name: 'h', hardlink: 'nothing' }]), /member "h": is a hard link to "nothing", which is not a file of this tree/);
  });

  it('refuses a member under a parent the archive replaced by a link', async () => {
    const f = tar(work, 'parent', [{ name: 'd/', dir: true }, { name: 'e/', dir: true }, { name: 'd', symlink: 'e' }, { name: 'd/f', file: 'through the link' }]);
    await refusedBoth(f, /member "d\/f": its parent d is a symbolic link/);
  });

  it('refuses a registry layer writing through a link an earlier layer of the release made (the ship never follows it)', async () => {
    const { outside } = setup();
    // The source layer of a service may hold any link (a repo's own); the next layer must not write through it.
    const first = tar(work, 'first', [{ name: 'd', symlink: outside }]);
    const second = tar(work, 'second', [{ name: 'd/ESCAPED', file: 'pwned' }]);
    await refusedBoth(second, /layer evil@v1: member "d\/ESCAPED": its parent d is a symbolic link/, DEFAULT_ARCHIVE_LIMITS, [{ file: first, label: 'layer source@abc', links: 'leaf' }]);
  });

  it('refuses devices, .. and absolute member paths', async () => {
    await refusedBoth(tar(work, 'dotdot', [{ name: 'sub/../../outside/x', file: 'x' }]), /its path contains '\.\.'/);
    await refusedBoth(tar(work, 'abspath', [{ name: '/tmp/x', file: 'x' }]), /it has an absolute path/);
  });

  it('bounds expanded bytes, members and depth while reading, before the member that crosses them lands', async () => {
    const limits = { maxBytes: 8 * 1024 * 1024, maxMembers: 50, maxDepth: 6 };
    const bomb = tar(work, 'bomb', [{ name: 'small', file: 'fine' }, { name: 'big', zeros: 64 * 1024 * 1024 }]);
    assert.ok(statSync(bomb).size < 200_000, `the bomb is small (${statSync(bomb).size} bytes)`);
    await refusedBoth(bomb, /member "big": takes the tree past 8388608 bytes \(STARPHLEET_ARCHIVE_MAX_BYTES\): refused before it is written/, limits);
    const { dest } = setup();
    await unpackArchives(dest, [{ file: bomb, label: 'bomb', links: 'inside' }], limits).catch(() => undefined);
    assert.equal(existsSync(join(dest, 'big')), false, 'the member past the bound never landed');
    const many = tar(work, 'many', Array.from({ length: 60 }, (_, i) => ({ name: `f${i}`, file: '' })));
    await refusedBoth(many, /member "f50": one member more than 50 \(STARPHLEET_ARCHIVE_MAX_MEMBERS\)/, limits);
    await refusedBoth(tar(work, 'deep', [{ name: 'a/b/c/d/e/f/g', file: 'deep' }]), /member "a\/b\/c\/d\/e\/f\/g": its path is 7 deep, more than 6/, limits);
    // The same bound holds across the layers of one release.
    const half = tar(work, 'half', [{ name: 'h', zeros: 5 * 1024 * 1024 }]);
    await refusedBoth(half, /member "h": takes the tree past/, limits, [{ file: half, label: 'layer first@v1', links: 'inside' }]);
  });

  it('bounds the decompressed stream itself: zeros after the end of the archive are refused while read', async () => {
    const f = join(work, 'trailing.tar.gz');
    // A valid empty archive, then 32 MiB of zeros the parser would skip as padding.
    writeFileSync(f, gzipSync(Buffer.alloc(32 * 1024 * 1024)));
    await refusedBoth(f, /expands past \d+ bytes of tar stream/, { maxBytes: 1024 * 1024, maxMembers: 4, maxDepth: 8 });
  });

  it('unpacks a plain tree: files with their exec bit (never setuid), directories, links inside, hard links', async () => {
    const { dest } = setup();
    const f = tar(work, 'plain', [
      { name: './', dir: true },
      { name: './bin/', dir: true },
      { name: './bin/run', file: '#!/bin/sh\n', mode: 0o4755 },
      { name: './data.txt', file: 'hello', mode: 0o600 },
      { name: './lib/x', file: 'x' },
      { name: './bin/x', symlink: '../lib/x' },
      { name: './copy', hardlink: 'data.txt' },
      { name: './data.txt', file: 'replaced' },
    ]);
    assert.equal(await checkArchive({ file: f, label: 'plain', links: 'inside' }, DEFAULT_ARCHIVE_LIMITS), 8);
    await unpackArchives(dest, [{ file: f, label: 'plain', links: 'inside' }], DEFAULT_ARCHIVE_LIMITS);
    assert.equal(statSync(join(dest, 'bin', 'run')).mode & 0o7777, 0o755);
    assert.equal(statSync(join(dest, 'data.txt')).mode & 0o7777, 0o644);
    assert.equal(readFileSync(join(dest, 'data.txt'), 'utf8'), 'replaced');
    assert.equal(readFileSync(join(dest, 'copy'), 'utf8'), 'hello', 'the hard link kept the first file');
    assert.equal(readlinkSync(join(dest, 'bin', 'x')), '../lib/x');
    assert.ok(lstatSync(join(dest, 'lib')).isDirectory());
    // A layer the ship packed keeps an absolute link as it is (never followed: a later layer cannot write through it).
    const venv = tar(work, 'venv', [{ name: 'venv/bin/python', symlink: '/usr/bin/python3' }]);
    await unpackArchives(join(dest, '..', 'r2'), [{ file: venv, label: 'layer build@v1', links: 'leaf' }], DEFAULT_ARCHIVE_LIMITS);
    assert.equal(readlinkSync(join(dest, '..', 'r2', 'venv', 'bin', 'python')), '/usr/bin/python3');
  });
});
