import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildVersion, pruneOrphans, runStep, sameConfigTime, StepFailed } from '../../../src/update/build.js';
import { buildIdentity } from '../../../src/update/build-identity.js';
import { writeLauncher } from '../../../src/update/versions.js';
import { tmpDir } from '../../helpers/tmp.js';

/** A package whose build copies cli.js into dist/ (what `npm run build` does for starphleet, minus tsc). */
function tinyPackage(dir: string, o: { build: string; cli: string; lock?: string }): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'tiny-ship', version: '9.9.9', private: true, scripts: { build: o.build } }));
  writeFileSync(
    join(dir, 'package-lock.json'),
    o.lock ?? JSON.stringify({ name: 'tiny-ship', version: '9.9.9', lockfileVersion: 3, requires: true, packages: { '': { name: 'tiny-ship', version: '9.9.9' } } }),
  );
  writeFileSync(join(dir, 'cli.js'), o.cli);
}

describe('update build steps', () => {
  test('npm ci, npm run build and the version check run for real, their output streamed', async () => {
    const dir = join(tmpDir('sp-upd-build-'), 'v');
    const running = join(tmpDir('sp-upd-running-'), 'r');
    // The build records who it ran as and what of the ship's env it saw.
    tinyPackage(dir, { build: 'mkdir -p dist && cp cli.js dist/cli.js && id -u > dist/uid && echo "secret=$SHIP_SECRET_FOR_TEST" > dist/env && echo built-it', cli: "if (process.argv[2] === 'version') console.log('9.9.9');\n" });
    tinyPackage(running, { build: 'true', cli: '', lock: '{"other": true}' });
    let out = '';
    const as = buildIdentity();
    const env = { ...process.env, SHIP_SECRET_FOR_TEST: 'hunter2' };
    const version = await buildVersion({ dir, runningRoot: running, progress: (s) => (out += s), timeoutMs: 120_000, home: join(dir, '..', 'home'), as, env });
    assert.equal(version, '9.9.9');
    assert.match(out, /\$ npm ci/);
    assert.match(out, /built-it/);
    assert.ok(existsSync(join(dir, 'node_modules')) || /up to date|added 0/.test(out), out);
    assert.equal(readFileSync(join(dir, 'dist', 'env'), 'utf8'), 'secret=\n', "the ship's env does not reach the build");
    if (process.getuid?.() === 0) {
      assert.equal(readFileSync(join(dir, 'dist', 'uid'), 'utf8').trim(), String(as?.uid), 'a root ship builds as the unprivileged user');
      assert.equal(statSync(join(dir, 'dist', 'cli.js')).uid, 0, 'what runs is owned by root again (a fresh copy)');
      assert.equal(lstatSync(dir).uid, 0);
    }
  });

  test("with the running version's lock file: its node_modules and compiled output seed the build; tsc recompiles only what changed, and a removed source's output goes", async () => {
    // Two versions of a package compiled by the real tsc (this checkout's, linked as node_modules), incrementally.
    // skipLibCheck as `tsc --init` writes it: checking TypeScript's own lib files took most of each compile here.
    const tsconfig = JSON.stringify({ compilerOptions: { target: 'ES2022', module: 'NodeNext', outDir: 'dist', rootDir: 'src', incremental: true, tsBuildInfoFile: 'dist/.tsbuildinfo', types: [], skipLibCheck: true }, include: ['src/**/*.ts'] });
    const tsc = join(process.cwd(), 'node_modules', 'typescript', 'bin', 'tsc');
    const make = (dir: string, files: Record<string, string>): void => {
      tinyPackage(dir, { build: `${process.execPath} ${tsc} -p tsconfig.json && cp cli.js dist/cli.js`, cli: "if (process.argv[2] === 'version') console.log('9.9.9');\n" });
      writeFileSync(join(dir, 'tsconfig.json'), tsconfig);
      for (const [name, text] of Object.entries(files)) {
        mkdirSync(join(dir, 'src'), { recursive: true });
        writeFileSync(join(dir, 'src', name), text);
      }
    };
    const running = join(tmpDir('sp-upd-seed-running-'), 'r');
    make(running, { 'a.ts': 'export const a = 1;\n', 'b.ts': 'export const b = 2;\n', 'gone.ts': 'export const gone = 3;\n' });
    mkdirSync(join(running, 'node_modules'));
    assert.equal(spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: running }).status, 0);
    const dir = join(tmpDir('sp-upd-seed-'), 'v');
    make(dir, { 'a.ts': 'export const a = 10;\n', 'b.ts': 'export const b = 2;\n' });
    // Marks the running output of b.js: an incremental build leaves it as it was (same source), a full one rewrites it.
    writeFileSync(join(running, 'dist', 'b.js'), `${readFileSync(join(running, 'dist', 'b.js'), 'utf8')}// from the running version\n`);
    let out = '';
    const version = await buildVersion({ dir, runningRoot: running, progress: (s) => (out += s), timeoutMs: 120_000, home: join(dir, '..', 'home'), as: buildIdentity() });
    assert.equal(version, '9.9.9');
    assert.match(out, /dependencies unchanged: copying node_modules/);
    assert.match(out, /compiler unchanged: tsc starts from the running version's output/);
    assert.doesNotMatch(out, /\$ npm ci/);
    assert.match(readFileSync(join(dir, 'dist', 'a.js'), 'utf8'), /a = 10/, 'the changed source is compiled');
    assert.match(readFileSync(join(dir, 'dist', 'b.js'), 'utf8'), /from the running version/, 'the unchanged one is not');
    assert.ok(!existsSync(join(dir, 'dist', 'gone.js')) && !existsSync(join(dir, 'dist', 'gone.js.map')), 'output of a source this version lacks is removed');
    assert.match(out, /removed the output of 1 source file/);
  });

  test("the new version's tsconfig.json gets the running one's time only when it is the same bytes, and no link is followed", () => {
    const running = tmpDir('sp-upd-conf-running-');
    const config = '{"compilerOptions": {}}\n';
    writeFileSync(join(running, 'tsconfig.json'), config);
    const old = new Date('2026-01-02T03:04:05Z');
    utimesSync(join(running, 'tsconfig.json'), old, old);
    const mtime = (p: string): number => lstatSync(p).mtimeMs;
    const same = tmpDir('sp-upd-conf-same-');
    writeFileSync(join(same, 'tsconfig.json'), config);
    sameConfigTime(running, same);
    assert.equal(mtime(join(same, 'tsconfig.json')), old.getTime(), 'the same bytes: the running time');
    const other = tmpDir('sp-upd-conf-other-');
    writeFileSync(join(other, 'tsconfig.json'), '{"compilerOptions": {"strict": true}}\n');
    const before = mtime(join(other, 'tsconfig.json'));
    sameConfigTime(running, other);
    assert.equal(mtime(join(other, 'tsconfig.json')), before, 'other bytes: left as checked out');
    // A link to a file with the same bytes (here the running one's own) is not a tsconfig.json to touch.
    const linked = tmpDir('sp-upd-conf-link-');
    const target = join(tmpDir('sp-upd-conf-target-'), 'tsconfig.json');
    writeFileSync(target, config);
    const targetTime = mtime(target);
    symlinkSync(target, join(linked, 'tsconfig.json'));
    sameConfigTime(running, linked);
    assert.equal(mtime(target), targetTime, 'the link is not followed');
  });

  test('pruning follows no link: an orphan reached through a linked folder, or itself a link, stays where it is', () => {
    const dir = tmpDir('sp-upd-prune-');
    const outside = tmpDir('sp-upd-prune-outside-');
    writeFileSync(join(outside, 'gone.js'), 'not ours\n');
    mkdirSync(join(dir, 'src'));
    mkdirSync(join(dir, 'dist'));
    symlinkSync(outside, join(dir, 'dist', 'sub'));
    symlinkSync(join(outside, 'gone.js'), join(dir, 'dist', 'linked.js'));
    writeFileSync(join(dir, 'dist', 'plain.js'), 'old output\n');
    const record = join(dir, 'record.json');
    writeFileSync(record, JSON.stringify({ fileNames: ['../src/sub/gone.ts', '../src/linked.ts', '../src/plain.ts', '../src/../../etc/x.ts'] }));
    assert.deepEqual(pruneOrphans(dir, record), ['plain.js']);
    assert.equal(readFileSync(join(outside, 'gone.js'), 'utf8'), 'not ours\n');
    assert.ok(lstatSync(join(dir, 'dist', 'linked.js')).isSymbolicLink());
  });

  test('a failing build names the step and its exit; its output was streamed', async () => {
    const dir = join(tmpDir('sp-upd-fail-'), 'v');
    tinyPackage(dir, { build: 'echo "src/x.ts(1,1): error TS2322: nope" >&2; exit 3', cli: '' });
    let out = '';
    await assert.rejects(
      buildVersion({ dir, runningRoot: join(dir, 'nowhere'), progress: (s) => (out += s), timeoutMs: 120_000, home: join(dir, '..', 'home'), as: buildIdentity() }),
      (e: unknown) => e instanceof StepFailed && /npm run build failed: exit 3/.test(e.message),
    );
    assert.match(out, /error TS2322: nope/);
  });

  test('a build that does not make a runnable starphleet fails the check', async () => {
    const dir = join(tmpDir('sp-upd-check-'), 'v');
    tinyPackage(dir, { build: 'mkdir -p dist && cp cli.js dist/cli.js', cli: "throw new Error('cannot start');\n" });
    await assert.rejects(buildVersion({ dir, runningRoot: join(dir, 'nowhere'), progress: () => {}, timeoutMs: 120_000, home: join(dir, '..', 'home'), as: buildIdentity() }), /version check failed: exit 1/);
  });

  test('a step over its time limit is killed with its children', async () => {
    const started = Date.now();
    await assert.rejects(runStep('sleeping', 'bash', ['-c', 'sleep 30 & sleep 30'], { cwd: tmpDir(), progress: () => {}, timeoutMs: 500 }), /sleeping failed: timed out after 0.5 s/);
    assert.ok(Date.now() - started < 10_000);
  });
});

describe('launcher <data>/bin/ship', () => {
  function versions(current: string, previous: string): string {
    const data = tmpDir('sp-launcher-');
    for (const [name, body] of [['a', current], ['b', previous]] as const) {
      mkdirSync(join(data, 'versions', name, 'dist'), { recursive: true });
      writeFileSync(join(data, 'versions', name, 'dist', 'cli.js'), body);
    }
    symlinkSync(join(data, 'versions', 'a'), join(data, 'versions', 'current'));
    symlinkSync(join(data, 'versions', 'b'), join(data, 'versions', 'previous'));
    writeLauncher(data);
    return data;
  }

  test('runs current with the ship flags and the data dir', () => {
    const data = versions("console.log('current', process.argv.slice(2).join(' '));\n", "console.log('previous');\n");
    const r = spawnSync(join(data, 'bin', 'ship'), ['--name', 'x'], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `current ship --data ${data} --name x`);
  });

  test('falls back to previous when current does not start', () => {
    const data = versions("console.error('boom'); process.exit(3);\n", "console.log('previous', process.argv.slice(2).join(' '));\n");
    const r = spawnSync(join(data, 'bin', 'ship'), [], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout.trim(), `previous ship --data ${data}`);
    assert.match(r.stderr, /versions\/current .* did not start \(exit 3\); falling back/);
  });

  test('fails when no version starts', () => {
    const data = versions('process.exit(4);\n', 'process.exit(5);\n');
    const r = spawnSync(join(data, 'bin', 'ship'), [], { encoding: 'utf8' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /no version in .* starts/);
  });
});
