import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, realpathSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, test } from 'node:test';
import { SHIP_COMMANDS } from '../../../src/commands/command-list.js';
import { initRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * A user's install: `npm pack` of a checkout (its prepack builds and records the commit), then `npm install -g` of
 * the tarball into a fresh prefix (a real registry install). The installed `starphleet` has no .git and must still
 * know its commit. better-sqlite3's native module is offered as a local prebuild made from the checkout's own build
 * (prebuild-install's `local_prebuilds`, the package pinned to the same version): compiling sqlite a second time took
 * ~7 minutes of a loaded CI run and proves nothing `npm ci` did not. node-pty still compiles here.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const dir = tmpDir('sp-pack-');
const checkout = join(dir, 'checkout');
const prefix = join(dir, 'prefix');
let sha: string;
let tarball: string;
const bin = (): string => join(prefix, 'bin', 'starphleet');

function run(args: readonly string[], cwd = dir): { code: number | null; out: string; err: string } {
  const r = spawnSync(bin(), args, { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, STARPHLEET_DATA: join(dir, 'no-ship') } });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

before(async () => {
  // The working tree as it is (not only what is committed), as a fresh checkout with its own commit. Its dist/ and
  // tsc's record of it come along, so prepack's build compiles only what differs (a whole compile is ~12 CPU-s).
  // node_modules is copied, not linked: tsc records each declaration file by its real path, and through a link
  // @types/node and TypeScript's own libs would sit elsewhere than the record says, so the whole tree compiled again
  // (12 CPU-s; the copy costs ~0.4).
  // Links stay as written (node_modules/.bin's are relative): resolved, tsc would run from the original again. Times
  // are kept: `tsc -b` takes a tsconfig.json newer than its record for a changed setup and compiles everything.
  cpSync(ROOT, checkout, { recursive: true, verbatimSymlinks: true, preserveTimestamps: true, filter: (src) => !/^(\.git|\.data)(\/|$)/.test(relative(ROOT, src)) });
  sha = initRepo(checkout, {});
  const packed = execFileSync('npm', ['pack', '--pack-destination', dir, '--json'], { cwd: checkout, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 600_000 });
  const json = packed.slice(packed.indexOf('\n[') >= 0 ? packed.indexOf('\n[') + 1 : packed.indexOf('['));
  tarball = join(dir, (JSON.parse(json) as { filename: string }[])[0]?.filename ?? '');
  const prebuilds = join(dir, 'prebuilds');
  mkdirSync(prebuilds);
  const sqlite = join(ROOT, 'node_modules', 'better-sqlite3');
  const { version } = JSON.parse(readFileSync(join(sqlite, 'package.json'), 'utf8')) as { version: string };
  const name = `better-sqlite3-v${version}-node-v${process.versions.modules}-${process.platform}-${process.arch}.tar.gz`;
  execFileSync('tar', ['-czf', join(prebuilds, name), '-C', sqlite, 'build/Release/better_sqlite3.node']);
  execFileSync('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tarball], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 1_200_000,
    env: { ...process.env, npm_config_better_sqlite3_local_prebuilds: prebuilds },
  });
});

describe('npm pack + npm install -g', { timeout: 1_800_000 }, () => {
  test('the package has the built CLI, its build record, the docs and no .git; the install has no .git either', () => {
    const list = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    for (const f of ['package/dist/cli.js', 'package/dist/build-info.json', 'package/docs/operations.md', 'package/docs/headquarters.md', 'package/docs/admirals.md', 'package/README.md', 'package/scripts/example-ship.mjs']) {
      assert.ok(list.includes(f), `${f} in the tarball`);
    }
    assert.ok(!list.some((f) => f.startsWith('package/.git/') || f.startsWith('package/src/') || f.startsWith('package/test/')), 'no .git, src or tests packed');
    const installed = join(prefix, 'lib', 'node_modules', 'starphleet');
    assert.ok(!existsSync(join(installed, '.git')));
    const info = JSON.parse(readFileSync(join(installed, 'dist', 'build-info.json'), 'utf8')) as { commit: string; version: string };
    assert.equal(info.commit, sha);
    assert.ok(readdirSync(join(installed, 'node_modules')).includes('better-sqlite3'));
    // The native modules the install put there load (the sqlite one from the local prebuild, node-pty compiled).
    const probe = "const D = require('better-sqlite3'); console.log(new D(':memory:').prepare('SELECT 41 + 1 AS n').get().n, typeof require('node-pty').spawn)";
    assert.equal(execFileSync(process.execPath, ['-e', probe], { cwd: installed, encoding: 'utf8' }), '42 function\n');
  });

  test('starphleet --version and -V print the version and the commit it was packed from', () => {
    for (const flag of ['--version', '-V']) {
      const r = run([flag]);
      assert.equal(r.code, 0, r.err);
      assert.equal(r.out, `starphleet 0.1.0 (commit ${sha})\n`);
    }
    assert.equal(run(['version']).out, '0.1.0\n');
  });

  test('--help lists the commands, and each kind of command answers --help with its usage and an example', () => {
    const top = run(['--help']);
    assert.equal(top.code, 0, top.err);
    const names = [...SHIP_COMMANDS.map((c) => c.name), 'ship', 'hq', 'install', 'uninstall', 'stop'];
    for (const n of names) assert.match(top.out, new RegExp(`^  ${n}\\b`, 'm'), n);
    // Every command's help is checked from the checkout (cli-help.test.ts); here one of each kind, as installed:
    // commands of the running ship, the ship itself, a subcommand, the installer's, and the laptop's.
    for (const c of ['status', 'logs', 'ship', 'hq check', 'install', 'stop', 'push']) {
      const r = run([...c.split(' '), '--help']);
      assert.equal(r.code, 0, `${c}: ${r.err}`);
      assert.match(r.out, new RegExp(`^usage: starphleet ${c}`, 'im'), `${c}:\n${r.out}`);
      assert.match(r.out, /^examples:\n {2}\S/m, `${c}:\n${r.out}`);
    }
  });

  test('the installed CLI checks an HQ in the current directory and writes a unit that names its own docs', () => {
    const hq = join(dir, 'hq');
    initRepo(hq, { 'web/orders': 'autodeploy https://example.com/web.git\n', 'authorized_keys/bad': 'not a key\n' });
    const r = run(['hq', 'check'], hq);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, /^ {2}\/web -> https:\/\/example\.com\/web\.git$/m);
    const root = tmpDir('sp-pack-root-');
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\nstarphleet:x:990:990::/nonexistent:/usr/sbin/nologin\n');
    const i = run(['install', '--root', root]);
    assert.equal(i.code, 0, i.err);
    const installed = realpathSync(join(prefix, 'lib', 'node_modules', 'starphleet'));
    const unit = readFileSync(join(root, 'etc/systemd/system/starphleet.service'), 'utf8');
    const docs = unit.match(/^Documentation=file:\/\/(.+)$/m)?.[1] ?? '';
    assert.equal(docs, join(installed, 'docs', 'operations.md'));
    assert.ok(existsSync(docs), docs);
    assert.equal(readlinkSync(join(root, 'var/starphleet/versions/current')), installed);
  });
});
