import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildVersion, runStep } from '../../../src/update/build.js';
import { buildIdentity } from '../../../src/update/build-identity.js';
import { placeDependencies, rootOnlyTree } from '../../../src/update/dependency-tree.js';
import { tmpDir } from '../../helpers/tmp.js';

const root = process.getuid?.() === 0;
const step = (what: string, cmd: string, args: readonly string[]): Promise<string> => runStep(what, cmd, args, { cwd: '/', progress: () => {}, timeoutMs: 60_000 });

/** A node_modules with one package (a file, a folder, a link inside). */
function deps(dir: string): string {
  const nm = join(dir, 'node_modules');
  mkdirSync(join(nm, 'dep', 'lib'), { recursive: true });
  writeFileSync(join(nm, 'dep', 'index.js'), 'module.exports = "the running version";\n');
  writeFileSync(join(nm, 'dep', 'lib', 'x.js'), 'x\n');
  return nm;
}

describe("an update's node_modules from the running version (dependency-tree.ts)", { skip: !root && 'the build user and hard links to root-only trees need root' }, () => {
  test("a tree that is root's alone is linked: the same files, new folders", async () => {
    const nm = deps(tmpDir('sp-deps-'));
    assert.equal(await rootOnlyTree(nm), true);
    const to = join(tmpDir('sp-deps-to-'), 'node_modules');
    assert.equal(await placeDependencies(nm, to, step), 'linked');
    assert.equal(statSync(join(to, 'dep', 'index.js')).ino, statSync(join(nm, 'dep', 'index.js')).ino);
    assert.notEqual(statSync(join(to, 'dep')).ino, statSync(join(nm, 'dep')).ino);
  });

  for (const [what, spoil] of [
    ["a file of another user's", (f: string) => chownSync(f, 65534, 65534)],
    ['a file others may write', (f: string) => chmodSync(f, 0o666)],
    ['a file its group may write', (f: string) => chmodSync(f, 0o664)],
    ['a setuid file', (f: string) => chmodSync(f, 0o4755)],
    ["a folder of another user's", (f: string) => chownSync(join(f, '..'), 65534, 65534)],
  ] as const) {
    test(`a tree holding ${what} is copied, and the copy is root's`, async () => {
      const nm = deps(tmpDir('sp-deps-'));
      spoil(join(nm, 'dep', 'lib', 'x.js'));
      assert.equal(await rootOnlyTree(nm), false);
      const to = join(tmpDir('sp-deps-to-'), 'node_modules');
      assert.equal(await placeDependencies(nm, to, step), 'copied');
      const copy = lstatSync(join(to, 'dep', 'lib', 'x.js'));
      assert.notEqual(copy.ino, statSync(join(nm, 'dep', 'lib', 'x.js')).ino);
      assert.equal(copy.uid, 0);
      assert.equal(lstatSync(join(to, 'dep', 'lib')).uid, 0);
    });
  }

  test('a hostile build: it cannot change the linked files, and what it leaves at node_modules is not what runs', async () => {
    const base = tmpDir('sp-deps-build-');
    const running = join(base, 'running');
    mkdirSync(running);
    deps(running);
    const lock = JSON.stringify({ name: 'tiny-ship', version: '9.9.9', lockfileVersion: 3, requires: true, packages: { '': { name: 'tiny-ship', version: '9.9.9' } } });
    const dir = join(base, 'v');
    mkdirSync(dir);
    for (const d of [running, dir]) writeFileSync(join(d, 'package-lock.json'), lock);
    // The build tries to write through to the running version's files, then puts a node_modules of its own in place.
    const build = [
      '(echo pwned > node_modules/dep/index.js) 2>/dev/null; echo "write=$?" > wrote',
      '(chmod 666 node_modules/dep/index.js) 2>/dev/null; echo "chmod=$?" >> wrote',
      '(echo x > node_modules/dep/new.js) 2>/dev/null; echo "add=$?" >> wrote',
      'mv node_modules theirs && mkdir -p node_modules/dep && echo evil > node_modules/evil.js && echo "module.exports = 1" > node_modules/dep/index.js',
      'mkdir -p dist && cp cli.js dist/cli.js && cp wrote dist/wrote',
    ].join(' && ');
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tiny-ship', version: '9.9.9', private: true, scripts: { build } }));
    writeFileSync(join(dir, 'cli.js'), "if (process.argv[2] === 'version') console.log('9.9.9');\nelse console.log(require('../node_modules/dep/index.js'));\n");
    let out = '';
    const version = await buildVersion({ dir, runningRoot: running, progress: (s) => (out += s), timeoutMs: 120_000, home: join(base, 'home'), as: buildIdentity() });
    assert.match(out, /dependencies unchanged: copying node_modules[\s\S]*as hard links/);
    assert.equal(version, '9.9.9');
    assert.match(readFileSync(join(dir, 'dist', 'wrote'), 'utf8'), /^write=[1-9]\d*\nchmod=[1-9]\d*\nadd=[1-9]\d*\n$/, 'the build user could not write or chmod a shared file, nor add one');
    assert.equal(readFileSync(join(running, 'node_modules', 'dep', 'index.js'), 'utf8'), 'module.exports = "the running version";\n');
    assert.equal(statSync(join(running, 'node_modules', 'dep', 'index.js')).mode & 0o777, 0o644);
    // The sealed version's node_modules is the running one's again, placed by root: the build's own is gone.
    assert.ok(!existsSync(join(dir, 'node_modules', 'evil.js')));
    assert.ok(lstatSync(join(dir, 'node_modules')).isDirectory());
    assert.equal(statSync(join(dir, 'node_modules', 'dep', 'index.js')).ino, statSync(join(running, 'node_modules', 'dep', 'index.js')).ino);
    assert.equal(execFileSync(process.execPath, [join(dir, 'dist', 'cli.js'), 'dep'], { encoding: 'utf8' }), 'the running version\n', 'the sealed version runs with the running tree');
  });
});
