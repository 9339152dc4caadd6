import assert from 'node:assert/strict';
import { lstatSync, readdirSync, readFileSync, readlinkSync, renameSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { exportTree, fetchCommit, repoDir, resolveRef } from '../../../src/agent/releases/source.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('resolveRef', () => {
  const dir = tmpDir('sp-src-');
  const repo = join(dir, 'repo');
  const first = initRepo(repo, { 'a.txt': 'one\n' });
  gitIn(repo, 'tag', 'v1');
  gitIn(repo, 'tag', '-a', 'v1-annotated', '-m', 'annotated');
  gitIn(repo, 'checkout', '-q', '-b', 'feature');
  const onFeature = commit(repo, { 'a.txt': 'feature\n' });
  gitIn(repo, 'checkout', '-q', 'master');
  const head = commit(repo, { 'a.txt': 'two\n' });

  it('no ref: the remote default branch', async () => {
    assert.equal(await resolveRef(repo, undefined, {}), head);
  });
  it('a branch, a tag, an annotated tag (peeled to its commit)', async () => {
    assert.equal(await resolveRef(repo, 'feature', {}), onFeature);
    assert.equal(await resolveRef(repo, 'v1', {}), first);
    assert.equal(await resolveRef(repo, 'v1-annotated', {}), first);
  });
  it('a full sha names itself, and is checked against the clone when there is one', async () => {
    assert.equal(await resolveRef(repo, first, {}), first);
    const dataDir = join(dir, 'data');
    assert.equal(await resolveRef(repo, first, {}, dataDir), first);
    await assert.rejects(resolveRef(repo, 'f'.repeat(40), {}, dataDir), /commit f{40} does not exist/);
  });
  it('a short sha resolves through the clone', async () => {
    assert.equal(await resolveRef(repo, onFeature.slice(0, 8), {}, join(dir, 'data')), onFeature);
    await assert.rejects(resolveRef(repo, onFeature.slice(0, 8), {}), /no branch or tag of that name.*short sha/);
  });
  it('unknown names fail naming url and ref', async () => {
    await assert.rejects(resolveRef(repo, 'nope', {}), new RegExp(`${repo}#nope: no branch or tag`));
    await assert.rejects(resolveRef(join(dir, 'missing'), undefined, {}), /ls-remote failed/);
  });
});

describe('cached clone and exported tree', () => {
  it('fetches on demand only, and exports exactly the tree at the sha', async () => {
    const dir = tmpDir('sp-src-');
    const repo = join(dir, 'repo');
    const first = initRepo(repo, {
      'run.sh': { content: '#!/bin/sh\necho hi\n', mode: 0o755 },
      'sub/data.txt': 'data\n',
      'ignored-by-archive.txt': 'kept\n',
      '.gitattributes': 'ignored-by-archive.txt export-ignore\n',
    });
    symlinkSync('sub/data.txt', join(repo, 'link'));
    const second = commit(repo, { 'sub/data.txt': 'changed\n' });
    const dataDir = join(dir, 'data');
    const clone = await fetchCommit(dataDir, repo, first, {});
    assert.equal(clone, repoDir(dataDir, repo));
    const out = join(dir, 'out');
    await exportTree(clone, first, out);
    assert.deepEqual(readdirSync(out).sort(), ['.gitattributes', 'ignored-by-archive.txt', 'run.sh', 'sub']);
    assert.equal(readFileSync(join(out, 'sub/data.txt'), 'utf8'), 'data\n');
    assert.equal(lstatSync(join(out, 'run.sh')).mode & 0o100, 0o100);
    const out2 = join(dir, 'out2');
    await exportTree(await fetchCommit(dataDir, repo, second, {}), second, out2);
    assert.equal(readFileSync(join(out2, 'sub/data.txt'), 'utf8'), 'changed\n');
    assert.equal(readlinkSync(join(out2, 'link')), 'sub/data.txt');
    // Cached: with the origin gone, commits already fetched still export.
    renameSync(repo, join(dir, 'gone'));
    await exportTree(await fetchCommit(dataDir, repo, first, {}), first, join(dir, 'out3'));
    assert.equal(readFileSync(join(dir, 'out3', 'sub/data.txt'), 'utf8'), 'data\n');
  });
});
