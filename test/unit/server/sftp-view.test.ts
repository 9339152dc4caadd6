import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { DeployedView, normalizeViewPath } from '../../../src/server/sftp/view.js';
import { writeFiles } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

function fakeDataDir(): string {
  const d = tmpDir('sp-view-');
  const sha = 'a'.repeat(64);
  writeFiles(d, {
    'services/echo/releases/20260101000000-abc1234/index.js': 'old',
    'services/echo/releases/20260102000000-def5678/index.js': 'console.log(1)\n',
    'services/echo/releases/20260102000000-def5678/lib/util.js': 'x',
    'services/echo/releases/20260102000000-def5678.json': '{}',
    'configs/echo.json': '{"layers":[]}',
    'configs/notes.txt': 'hidden',
    [`layers/${sha}.tar.gz`]: 'gz',
    'layers/tmp-123': 'partial',
    'logs/echo/build-1.log': 'built\n',
    'data/shared/file': 'shared',
  });
  const rel = join(d, 'services/echo/releases/20260102000000-def5678');
  symlinkSync('/etc/passwd', join(rel, 'passwd'));
  symlinkSync('lib/util.js', join(rel, 'util-link'));
  symlinkSync('../20260101000000-abc1234/index.js', join(rel, 'sibling'));
  symlinkSync('releases/20260102000000-def5678', join(d, 'services/echo/current'));
  mkdirSync(join(d, 'services/ghost'));
  return d;
}

test('sftp view: .. never climbs above /', () => {
  assert.equal(normalizeViewPath('/../../..'), '/');
  assert.equal(normalizeViewPath('../../etc/passwd', '/services'), '/etc/passwd');
  assert.equal(normalizeViewPath('a/./b/../c', '/logs'), '/logs/a/c');
});

test('sftp view: the tree of the design, only what belongs there', async () => {
  const v = new DeployedView(fakeDataDir());
  assert.deepEqual((await v.list('/'))?.map((e) => e.name), ['services', 'configs', 'layers', 'logs', 'data', 'registry']); // /registry (#22); /incoming shows once an admiral's session made it
  assert.deepEqual((await v.list('/services'))?.map((e) => e.name), ['echo', 'ghost']);
  assert.deepEqual((await v.list('/services/echo'))?.map((e) => e.name), ['current', 'releases']);
  assert.deepEqual((await v.list('/services/echo/releases'))?.map((e) => e.name), ['20260101000000-abc1234', '20260102000000-def5678']);
  assert.deepEqual((await v.list('/services/echo/current'))?.map((e) => e.name), ['index.js', 'lib', 'passwd', 'sibling', 'util-link']);
  assert.deepEqual((await v.list('/configs'))?.map((e) => e.name), ['echo.json']);
  assert.deepEqual((await v.list('/layers'))?.map((e) => e.name), [`${'a'.repeat(64)}.tar.gz`]);
  assert.equal((await v.resolve('/services/echo/current/index.js', true))?.stats?.size, 15);
  assert.equal((await v.resolve('/services/ghost/current', true)), null);
  assert.equal((await v.resolve('/services/nope', true)), null);
  assert.equal((await v.resolve('/etc', true)), null);
  assert.equal((await v.resolve('/configs/notes.txt', true)), null);
  assert.equal((await v.resolve('/layers/tmp-123', true)), null);
});

test('sftp view: links are shown, but never followed out of their release', async () => {
  const v = new DeployedView(fakeDataDir());
  assert.equal((await v.resolve('/services/echo/current/passwd', false))?.stats?.isSymbolicLink(), true);
  assert.equal(await v.readlink('/services/echo/current/passwd'), '/etc/passwd');
  assert.equal(await v.resolve('/services/echo/current/passwd', true), null, 'a link to /etc/passwd cannot be followed');
  assert.equal(await v.resolve('/services/echo/current/sibling', true), null, 'a link into another release is outside this one');
  assert.equal((await v.resolve('/services/echo/current/util-link', true))?.stats?.size, 1, 'a link inside the release works');
});
