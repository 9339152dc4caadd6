import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { pushRepoPath } from '../../../src/data-dir/push-names.js';
import { parseGitCommand, pushName, unquoteGitArg } from '../../../src/server/git/git-command.js';

/** git's sq_quote_buf(), as git writes the path into the command it sends over ssh. */
const sq = (s: string): string => `'${s.replace(/['!]/g, (c) => `'\\${c}'`)}'`;

describe('git exec command parsing', () => {
  it('un-quotes exactly what git quotes', () => {
    for (const s of ['myapp', '/myapp', "it's", 'bang!', "'x'", '', "a'!'b", 'sp ace']) assert.equal(unquoteGitArg(sq(s)), s, s);
  });

  it('refuses quoting git never writes', () => {
    for (const q of ["myapp", "'myapp", "'a'b'", "'a'\\''", "'a'\\x'b'", "'a' 'b'", "'a'\\'", "\"a\""]) assert.equal(unquoteGitArg(q), null, q);
  });

  it('takes the two git programs with one quoted argument only', () => {
    const data = '/srv/data';
    assert.deepEqual(parseGitCommand(`git-receive-pack ${sq('/myapp')}`, data), { program: 'git-receive-pack', name: 'myapp', repo: '/srv/data/push/myapp.git' });
    assert.deepEqual(parseGitCommand(`git-upload-pack ${sq('my.app-2.git')}`, data), { program: 'git-upload-pack', name: 'my.app-2', repo: '/srv/data/push/my.app-2.git' });
    for (const c of [
      'git-receive-pack',
      "git-receive-pack  '/a'",
      "git receive-pack '/a'",
      "git-receive-pack '/a' '/b'",
      "git-receive-pack '/a'; ls",
      "git-receive-pack '/a'\nls",
      "git-upload-archive '/a'",
      "GIT_DIR=/ git-upload-pack '/a'",
    ]) assert.ok('error' in parseGitCommand(c, data), c);
  });

  it('validates names: charset and length, then containment in the push dir', () => {
    for (const ok of ['a', 'myapp', 'my-app_2.v', '0', 'a'.repeat(63)]) assert.equal(pushName(ok), ok);
    for (const bad of ['', '..', '../etc', '/tmp/x', '//tmp/x', 'a;b', "'x'", 'a/b', 'A', '.hidden', '-x', 'a b', 'a'.repeat(64), 'a'.repeat(300), 'x\0y', '.git']) {
      assert.equal(pushName(bad), null, bad);
      assert.ok('error' in parseGitCommand(`git-receive-pack ${sq(bad)}`, '/srv/data'), bad);
    }
    assert.equal(pushRepoPath('/srv/data', '..'), null);
    assert.equal(pushRepoPath('/srv/data', '../etc'), null);
    assert.equal(pushRepoPath('/srv/data', 'ok'), '/srv/data/push/ok.git');
  });

  it('names the problem in one line', () => {
    const r = parseGitCommand(`git-receive-pack ${sq('../etc')}`, '/d');
    assert.ok('error' in r);
    assert.match(r.error, /^bad repository name "\.\.\/etc": /);
    assert.doesNotMatch(r.error, /\n/);
  });
});
