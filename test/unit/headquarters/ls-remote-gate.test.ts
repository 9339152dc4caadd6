import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { git } from '../../../src/headquarters/git.js';
import { localRefsStamp, localRepoPath, MAX_ENTRIES } from '../../../src/headquarters/local-refs-stamp.js';
import { LsRemoteGate } from '../../../src/headquarters/ls-remote-gate.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * The gate in front of `git ls-remote` (headquarters/ls-remote-gate.ts), on real repositories: every kind of ref
 * change git makes is seen by the next ask, an unchanged repository forks no git, the 30 s net and the racy window
 * hold, and remote URLs and layouts the fingerprint cannot vouch for always ask git.
 */

/** A clock past the racy window of every file these tests write (10 s ahead of the real one). */
const ahead = (): number => Date.now() + 10_000;

function counter(gate: LsRemoteGate) {
  let spawns = 0;
  return {
    get spawns() {
      return spawns;
    },
    /** One ask through the gate, checked against git's own answer at the same moment. */
    async ask(url: string, expectSpawn: boolean, what: string): Promise<string> {
      const before = spawns;
      const out = await gate.run(url, 'all', () => {
        spawns++;
        return git(['ls-remote', '--', url]);
      });
      assert.equal(out, await git(['ls-remote', '--', url]), `${what}: the gate's answer is git's`);
      assert.equal(spawns - before, expectSpawn ? 1 : 0, `${what}: ${expectSpawn ? 'git asked' : 'no git'}`);
      return out;
    },
  };
}

function bareWithClone(): { bare: string; work: string } {
  const base = tmpDir('sp-gate-');
  const work = join(base, 'work');
  initRepo(work, { a: '1\n' });
  const bare = join(base, 'hq.git');
  execFileSync('git', ['init', '-q', '--bare', '-b', 'master', bare]);
  gitIn(work, 'push', '-q', bare, 'master');
  return { bare, work };
}

describe('ls-remote gate on a repository on this machine', () => {
  for (const form of ['path', 'file://'] as const) {
    test(`bare repository (${form}): push, update-ref, pack-refs, delete, tags, HEAD switched: each seen; unchanged: no git`, async () => {
      const { bare, work } = bareWithClone();
      const url = form === 'path' ? bare : `file://${bare}`;
      const c = counter(new LsRemoteGate({ now: ahead }));
      await c.ask(url, true, 'first ask');
      await c.ask(url, false, 'unchanged');
      await c.ask(url, false, 'unchanged again');

      commit(work, { a: '2\n' });
      gitIn(work, 'push', '-q', bare, 'master');
      assert.match(await c.ask(url, true, 'after a push'), new RegExp(gitIn(work, 'rev-parse', 'HEAD')));
      await c.ask(url, false, 'unchanged after push');

      const first = gitIn(work, 'rev-parse', 'HEAD~1');
      gitIn(bare, 'update-ref', 'refs/heads/other', first);
      assert.match(await c.ask(url, true, 'update-ref'), /refs\/heads\/other/);
      await c.ask(url, false, 'unchanged after update-ref');

      gitIn(bare, 'pack-refs', '--all');
      await c.ask(url, true, 'pack-refs --all');
      await c.ask(url, false, 'unchanged after pack-refs');
      gitIn(bare, 'update-ref', 'refs/heads/other', gitIn(work, 'rev-parse', 'HEAD'));
      await c.ask(url, true, 'a packed ref updated');

      gitIn(bare, 'update-ref', '-d', 'refs/heads/other');
      assert.doesNotMatch(await c.ask(url, true, 'branch deleted'), /refs\/heads\/other/);
      gitIn(bare, 'pack-refs', '--all');
      await c.ask(url, true, 'pack-refs again');
      gitIn(bare, 'branch', '-D', 'master');
      assert.doesNotMatch(await c.ask(url, true, 'a packed branch deleted'), /refs\/heads\/master/);
      gitIn(work, 'push', '-q', bare, 'master');
      await c.ask(url, true, 'pushed again');

      gitIn(bare, 'tag', 'v1', 'master');
      assert.match(await c.ask(url, true, 'lightweight tag'), /refs\/tags\/v1/);
      gitIn(work, 'tag', '-a', '-m', 'v2', 'v2');
      gitIn(work, 'push', '-q', bare, 'v2');
      assert.match(await c.ask(url, true, 'annotated tag pushed'), /refs\/tags\/v2\^\{\}/);
      await c.ask(url, false, 'unchanged after tags');

      gitIn(bare, 'update-ref', 'refs/heads/side', first);
      await c.ask(url, true, 'side branch');
      gitIn(bare, 'symbolic-ref', 'HEAD', 'refs/heads/side');
      const head = (await c.ask(url, true, 'HEAD switched')).split('\n').find((l) => l.endsWith('\tHEAD'));
      assert.equal(head, `${first}\tHEAD`);
      await c.ask(url, false, 'unchanged at the end');
    });
  }

  test('non-bare repository: commit, branch switch, detached HEAD, a new branch: each seen; unchanged: no git', async () => {
    const repo = join(tmpDir('sp-gate-'), 'hq');
    const one = initRepo(repo, { a: '1\n' });
    const c = counter(new LsRemoteGate({ now: ahead }));
    await c.ask(repo, true, 'first ask');
    await c.ask(repo, false, 'unchanged');
    const two = commit(repo, { a: '2\n' });
    assert.match(await c.ask(repo, true, 'a commit in the checkout'), new RegExp(`${two}\tHEAD`));
    await c.ask(repo, false, 'unchanged after commit');
    gitIn(repo, 'checkout', '-q', '-b', 'feature', one);
    assert.match(await c.ask(repo, true, 'branch made and checked out'), new RegExp(`${one}\tHEAD`));
    gitIn(repo, 'checkout', '-q', 'master');
    await c.ask(repo, true, 'back on master');
    gitIn(repo, 'checkout', '-q', '--detach', one);
    await c.ask(repo, true, 'detached HEAD');
    await c.ask(repo, false, 'unchanged, detached');
    // A file in the work tree is no ref: no git.
    writeFileSync(join(repo, 'b'), 'x\n');
    await c.ask(repo, false, 'work tree file written');
  });

  test('the 30 s net: git is asked again once the kept answer is 30 s old, whatever the fingerprint', async () => {
    const { bare } = bareWithClone();
    let now = Date.now() + 10_000;
    const c = counter(new LsRemoteGate({ now: () => now }));
    await c.ask(bare, true, 'first');
    now += 29_999;
    await c.ask(bare, false, 'at 29.999 s');
    now += 1;
    await c.ask(bare, true, 'at 30 s');
    await c.ask(bare, false, 'kept again');
    now -= 60_000; // the wall clock stepped back: the kept answer's age means nothing
    await c.ask(bare, true, 'clock stepped back');
  });

  test('racy window: a fingerprint taken within 2 s of the newest file time is not trusted', async () => {
    const { bare, work } = bareWithClone();
    let skew = 0;
    const c = counter(new LsRemoteGate({ now: () => Date.now() + skew }));
    commit(work, { a: '3\n' });
    gitIn(work, 'push', '-q', bare, 'master');
    await c.ask(bare, true, 'just pushed');
    await c.ask(bare, true, 'still within the racy window');
    skew = 2_500;
    await c.ask(bare, true, 'past the window: asked once more to keep a trusted answer');
    await c.ask(bare, false, 'then kept');
  });

  test('remote URLs always ask git (no fingerprint, nothing kept)', async () => {
    const gate = new LsRemoteGate({ now: ahead });
    for (const url of ['https://example.invalid/app.git', 'ssh://git@example.invalid/app.git', 'git@example.invalid:app.git', 'git://example.invalid/app.git', 'file://host/srv/app.git', 'relative/path']) {
      assert.equal(localRepoPath(url), null, url);
      assert.equal(await localRefsStamp(url), null, url);
      let asked = 0;
      for (let i = 0; i < 3; i++) assert.equal(await gate.run(url, 'q', async () => `${++asked}`), `${asked}`);
      assert.equal(asked, 3, `${url}: every ask forks`);
    }
    assert.equal(localRepoPath('file:///srv/a%20b.git'), '/srv/a b.git', 'git percent-decodes file URLs');
    assert.equal(localRepoPath('file:///srv/%E0%A4%A'), null, 'a malformed escape: git is asked');
  });

  test('a failed ask keeps nothing; queries of one URL are kept apart', async () => {
    const { bare } = bareWithClone();
    const gate = new LsRemoteGate({ now: ahead });
    await assert.rejects(gate.run(bare, 'q', async () => Promise.reject(new Error('boom'))), /boom/);
    let asked = 0;
    assert.equal(await gate.run(bare, 'q', async () => `a${++asked}`), 'a1');
    assert.equal(await gate.run(bare, 'q', async () => `a${++asked}`), 'a1');
    assert.equal(await gate.run(bare, 'other', async () => `b${++asked}`), 'b2');
    assert.equal(asked, 2);
  });

  test('a fingerprint that hangs (a dead network mount) is given up: git is asked within the limit', async () => {
    const gate = new LsRemoteGate({ now: ahead, stampTimeoutMs: 50, stamp: () => new Promise(() => undefined) });
    const t0 = Date.now();
    assert.equal(await gate.run('/srv/x', 'q', async () => 'asked'), 'asked');
    assert.equal(await gate.run('/srv/x', 'q', async () => 'asked again'), 'asked again', 'the stuck stamp is not waited for twice');
    assert.ok(Date.now() - t0 < 5_000);
  });
});

describe('layouts and hostile trees the fingerprint does not vouch for', () => {
  test('a .git file (linked worktree), a symlinked repository, commondir, a plain dir: null (git is asked)', async () => {
    const base = tmpDir('sp-gate-layout-');
    const main = join(base, 'main');
    initRepo(main, { a: '1\n' });
    assert.notEqual(await localRefsStamp(main), null, 'a plain work tree is fingerprinted');
    gitIn(main, 'worktree', 'add', '-q', join(base, 'linked'), '-b', 'linked');
    assert.equal(await localRefsStamp(join(base, 'linked')), null, 'a .git file');
    symlinkSync(main, join(base, 'via-link'));
    assert.equal(await localRefsStamp(join(base, 'via-link')), null, 'a symlinked repository');
    const fake = join(base, 'fake.git');
    mkdirSync(join(fake, 'refs'), { recursive: true });
    writeFileSync(join(fake, 'HEAD'), 'ref: refs/heads/master\n');
    writeFileSync(join(fake, 'commondir'), '../main/.git\n');
    assert.equal(await localRefsStamp(fake), null, 'commondir');
    assert.equal(await localRefsStamp(join(base, 'nothing')), null, 'missing');
    mkdirSync(join(base, 'plain'));
    assert.equal(await localRefsStamp(join(base, 'plain')), null, 'not a repository');
  });

  test('a symlink in refs/ is counted by its own lstat and never entered; a FIFO is not opened; too many refs: null', async () => {
    const { bare } = bareWithClone();
    const big = tmpDir('sp-gate-big-');
    for (let i = 0; i < 50; i++) writeFileSync(join(big, `f${i}`), '');
    const before = await localRefsStamp(bare);
    symlinkSync(big, join(bare, 'refs', 'heads', 'evil'));
    symlinkSync('/', join(bare, 'refs', 'tags', 'root'));
    execFileSync('mkfifo', [join(bare, 'refs', 'heads', 'pipe')]);
    const after = await localRefsStamp(bare);
    assert.ok(before && after && before.key !== after.key, 'the new entries change the fingerprint');
    const many = join(bare, 'refs', 'heads', 'many');
    mkdirSync(many);
    execFileSync('bash', ['-c', `touch r{0..${MAX_ENTRIES}}`], { cwd: many });
    assert.equal(await localRefsStamp(bare), null, `more than ${MAX_ENTRIES} entries`);
  });
});
