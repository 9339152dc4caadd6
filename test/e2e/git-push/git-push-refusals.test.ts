import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initRepo } from '../../helpers/git.js';
import { runGit } from '../../helpers/git-push.js';
import { makeKey } from '../../helpers/keys.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';

/** What the `git` SSH user refuses, seen through real OpenSSH and real git: bad names, other commands, other keys. */
describe('git user refusals', () => {
  let s: SshShip;
  let base: string;
  let app: string;
  before(async () => {
    s = await startSshShip({ admirals: { forced: 'command="echo forced"', restricted: 'restrict' } });
    base = `ssh://git@127.0.0.1:${s.port}`;
    app = join(s.dir, 'app');
    initRepo(app, { 'README': 'nothing to build\n' });
  });
  after(async () => {
    await s?.ship.stop();
  });

  const pushDir = (): string => join(s.ship.dataDir, 'push');
  const nothingMade = (): void => {
    assert.deepEqual(existsSync(pushDir()) ? readdirSync(pushDir()) : [], [], 'no repo was created');
    for (const p of ['/tmp/x.git', join(s.ship.dataDir, 'etc.git'), join(s.ship.dataDir, '..', 'etc.git')]) assert.ok(!existsSync(p), p);
  };

  const quote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;
  const cases: [string, string][] = [
    ['../etc', `git-receive-pack ${quote('../etc')}`],
    ['/tmp/x', `git-receive-pack ${quote('/tmp/x')}`],
    ['a;b', `git-receive-pack ${quote('a;b')}`],
    ["'x'", `git-receive-pack ${quote("'x'")}`],
    ['300 characters', `git-receive-pack ${quote('a'.repeat(300))}`],
    ['an unquoted path', 'git-receive-pack ../etc'],
    ['a second command', `git-upload-pack ${quote('x')}; touch /tmp/owned`],
    ['a quote git would not write', `git-upload-pack 'x'\\''`],
    ['another program', 'ls -la'],
    ['git-upload-archive', `git-upload-archive ${quote('x')}`],
  ];
  for (const [what, command] of cases) {
    it(`refuses ${what} with one line and exit 1`, async () => {
      const r = await s.ssh([command], { user: 'git' });
      assert.equal(r.code, 1, r.stderr);
      assert.match(r.stderr, /^starphleet: [^\n]+\n$/, `one line: ${JSON.stringify(r.stderr)}`);
      assert.equal(r.stdout.length, 0);
      nothingMade();
    });
  }

  it('refuses a shell', async () => {
    const r = await s.ssh([], { user: 'git', options: ['-T'] });
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /^starphleet: denied: the git user only runs git-receive-pack \(git push\) and git-upload-pack/);
  });

  for (const name of ['../etc', '/tmp/x', 'a;b', "'x'", 'A'.repeat(300)]) {
    it(`git push to ${JSON.stringify(name.slice(0, 12))} is refused`, async () => {
      const r = await runGit(['push', `${base}/${name}`, 'master'], { cwd: app, key: s.admiral.privatePath });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /starphleet: bad repository name/, r.stderr);
      nothingMade();
    });
  }

  it('clone of a name nobody pushed says so', async () => {
    const r = await runGit(['clone', `${base}/nothing-here`, join(s.dir, 'nothing')], { cwd: s.dir, key: s.admiral.privatePath });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no repository named nothing-here/);
    nothingMade();
  });

  it('a key that is not an admiral is refused', async () => {
    const stranger = makeKey(s.dir, 'stranger');
    const r = await runGit(['push', `${base}/myapp`, 'master'], { cwd: app, key: stranger.privatePath });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Permission denied \(publickey\)/);
    nothingMade();
  });

  it('a key with a forced command cannot use git', async () => {
    const forced = s.keys.forced?.privatePath ?? '';
    const r = await runGit(['push', `${base}/myapp`, 'master'], { cwd: app, key: forced });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /may only run its forced command/);
    assert.doesNotMatch(r.stderr, /forced\n/, 'the forced command does not run for the git user either');
    nothingMade();
  });

  it('a `restrict` key can still clone (restrict limits forwarding and PTYs, not git)', async () => {
    const r = await runGit(['ls-remote', `${base}/nothing-here`], { cwd: s.dir, key: s.keys.restricted?.privatePath ?? '' });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /no repository named nothing-here/, 'it got past authentication and the key check to the name');
  });
});
