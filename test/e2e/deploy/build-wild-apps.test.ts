import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildError, buildRelease } from '../../../src/agent/releases/build-release.js';
import type { BuildInput, Release } from '../../../src/agent/types.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { runRelease, type RunningRelease } from '../../helpers/run-release.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * Apps shaped as they come from the wild (a TypeScript app, yarn and pnpm lock files, Dokku's Go and worker samples,
 * several buildpacks, a Dockerfile), each built by the real buildpacks in the real build sandbox and run.
 */

// The registry these machines reach serves no signatures: corepack checks none here (a ship keeps the check on).
process.env.COREPACK_INTEGRITY_KEYS = '0';

const running: RunningRelease[] = [];
after(async () => {
  for (const r of running) await r.stop();
});

function input(service: string, giturl: string, sha: string, extra: Partial<BuildInput> = {}): BuildInput {
  return { service, giturl, sha, ordersEnv: {}, hqEnv: {}, shipName: 'testship', ...extra };
}

interface Built {
  readonly release: Release;
  readonly lines: string[];
  readonly repo: string;
  readonly dataDir: string;
}

async function buildFixture(fixture: string, extra: Partial<BuildInput> = {}, dir = tmpDir('sp-wild-')): Promise<Built> {
  const repo = join(dir, 'repo');
  const sha = existsSync(repo) ? commit(repo, {}) : fixtureRepo(fixture, repo);
  const lines: string[] = [];
  const dataDir = join(dir, 'data');
  const release = await buildRelease(input(fixture, repo, sha, extra), { dataDir, access: {}, log: (l) => lines.push(l) });
  return { release, lines, repo, dataDir };
}

async function failure(fixture: string, extra: Partial<BuildInput> = {}): Promise<{ message: string; lines: string[] }> {
  const dir = tmpDir('sp-wild-');
  const sha = fixtureRepo(fixture, join(dir, 'repo'));
  const lines: string[] = [];
  const err = await buildRelease(input(fixture, join(dir, 'repo'), sha, extra), { dataDir: join(dir, 'data'), access: {}, log: (l) => lines.push(l) }).then(
    () => assert.fail(`${fixture} should not build`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof BuildError);
  return { message: err.message, lines };
}

async function start(release: Release): Promise<RunningRelease> {
  const r = await runRelease(release, 30_000);
  running.push(r);
  return r;
}

const modules = (release: Release): string[] => readdirSync(join(release.dir, 'node_modules')).filter((n) => !n.startsWith('.')).sort();

describe('node apps as Heroku builds them', () => {
  it('TypeScript: heroku-prebuild, build, devDependencies pruned, heroku-cleanup, NODE_ENV, no npm around the app; the cache serves the next commit', async () => {
    const dir = tmpDir('sp-wild-');
    const first = await buildFixture('ts-app', {}, dir);
    const log = first.lines.join('\n');
    assert.match(log, /-----> npm [\d.]+ \(by package-lock\.json\), NODE_ENV=production/);
    assert.match(log, /-----> heroku-prebuild[\s\S]*-----> npm ci --include=dev[\s\S]*-----> node_modules saved to the build cache[\s\S]*-----> npm run build[\s\S]*-----> pruning devDependencies[\s\S]*-----> heroku-cleanup/);
    const { release } = first;
    assert.equal(release.config.command, 'node dist/server.js');
    assert.equal(release.config.env.NODE_ENV, 'production');
    assert.ok(existsSync(join(release.dir, 'dist', 'server.js')), 'tsc wrote dist/server.js');
    assert.deepEqual(modules(release), ['ms'], 'no devDependency (typescript, @types) is left in node_modules');
    assert.equal(existsSync(join(release.dir, 'node_modules', '.bin', 'tsc')), false);
    const app = await start(release);
    const body = (await app.get('/x')).body;
    assert.match(body, /ts-app fixture says hello from \/x/);
    assert.match(body, /NODE_ENV=production/);
    assert.match(body, /ms: 2 days/);
    assert.match(body, /typescript: absent/);
    assert.match(body, /heroku-prebuild ran with NODE_ENV=production/);
    assert.match(body, /heroku-cleanup ran; typescript pruned/);
    assert.doesNotMatch(body.split('\n').find((l) => l.startsWith('parent:')) ?? '', /npm/, 'the app is not a child of npm');
    // A new commit, the same package.json and lock: node_modules comes from the cache.
    commit(first.repo, { 'README.md': 'a new commit\n' });
    const second = await buildFixture('ts-app', {}, dir);
    assert.match(second.lines.join('\n'), /-----> node_modules restored from the build cache \(package\.json and package-lock\.json unchanged since it was cached\)/);
    assert.doesNotMatch(second.lines.join('\n'), /-----> npm ci/);
    assert.deepEqual(modules(second.release), ['ms']);
    assert.ok(existsSync(join(second.release.dir, 'dist', 'server.js')));
  });

  it('yarn: installed from yarn.lock through corepack, devDependency pruned', async () => {
    const { release, lines } = await buildFixture('yarn-app');
    assert.match(lines.join('\n'), /-----> yarn 1\.22\.\d+ \(by yarn\.lock\)[\s\S]*-----> corepack yarn install --frozen-lockfile/);
    assert.deepEqual(modules(release), ['ms']);
    assert.equal(release.config.command, 'node server.js');
    const body = (await (await start(release)).get('/')).body;
    assert.match(body, /yarn-app fixture says hello[\s\S]*ms: 1m[\s\S]*is-number: absent[\s\S]*NODE_ENV=production/);
  });

  it('pnpm: installed from pnpm-lock.yaml through corepack, devDependency pruned; NODE_ENV from the orders wins', async () => {
    const { release, lines } = await buildFixture('pnpm-app', { ordersEnv: { NODE_ENV: 'staging' } });
    assert.match(lines.join('\n'), /-----> pnpm [\d.]+ \(by pnpm-lock\.yaml\), NODE_ENV=staging[\s\S]*-----> corepack pnpm install --frozen-lockfile/);
    assert.deepEqual(modules(release), ['ms']);
    assert.equal(release.config.env.NODE_ENV, 'staging');
    const body = (await (await start(release)).get('/')).body;
    assert.match(body, /pnpm-app fixture says hello[\s\S]*ms: 1m[\s\S]*is-number: absent[\s\S]*NODE_ENV=staging/);
  });

  it('an engines.node the ship cannot meet fails, naming what it asks and the node the ship has', async () => {
    const { message, lines } = await failure('engines-unmet');
    const why = `engines.node in package.json asks for ">=99": this ship has node ${process.version} only, and builds download no other node.`;
    assert.equal(message, `node bin/compile failed (exit 1): ${why}`);
    assert.ok(lines.includes(` !     ${why}`), lines.join('\n'));
  });

  it('.node-version and .nvmrc are checked too: a full version means its major, lts/* an LTS line', async () => {
    const dir = tmpDir('sp-wild-');
    const repo = join(dir, 'repo');
    fixtureRepo('node-app', repo);
    const major = process.versions.node.split('.')[0] ?? '';
    const build = async (files: Record<string, string | null>): Promise<string[]> => {
      const sha = commit(repo, files);
      const lines: string[] = [];
      await buildRelease(input('nvm', repo, sha), { dataDir: join(dir, 'data'), access: {}, log: (l) => lines.push(l) }).catch(() => undefined);
      return lines;
    };
    assert.ok((await build({ '.nvmrc': `v${major}.0.0\n` })).some((l) => l.includes(`.nvmrc ${JSON.stringify(`${major}.0.0 (taken as ^${major}.0.0: the same major, at least that version)`)}`)));
    assert.ok((await build({ '.nvmrc': 'lts/*\n' })).some((l) => l.startsWith(`-----> node ${process.version} (meets .nvmrc "lts/*")`)));
    const old = await build({ '.nvmrc': null, '.node-version': '18\n' });
    assert.ok(old.some((l) => l.includes(`.node-version asks for "18": this ship has node ${process.version} only`)), old.join('\n'));
  });
});

describe('process types, several buildpacks, Go, Dockerfile', () => {
  it("a worker-only Procfile: no web process, and the node buildpack offers none (the app has no start command)", async () => {
    const { release } = await buildFixture('worker-only');
    assert.deepEqual(release.config.processes, { worker: 'node worker.js' });
    assert.equal(release.config.command, '');
  });

  it('.buildpacks runs node then python; the last one names the web process; config vars of both', async () => {
    const { release, lines } = await buildFixture('multi-buildpack');
    assert.ok(lines.includes('-----> 2 buildpacks, in order: node, python'), lines.join('\n'));
    assert.equal(release.config.buildpack, 'node, python');
    assert.equal(release.config.command, '.venv/bin/python app.py');
    assert.equal(release.config.env.NODE_ENV, 'production');
    const body = (await (await start(release)).get('/')).body;
    assert.match(body, /multi-buildpack fixture \(python\) serves: asset built by the node buildpack/);
  });

  it("BUILDPACK_URL from the orders is a list that wins over .buildpacks, in its order: node last has no web", async () => {
    const { message, lines } = await failure('multi-buildpack', { ordersEnv: { BUILDPACK_URL: 'python, node' } });
    assert.ok(lines.includes('-----> 2 buildpacks, in order: python, node'), lines.join('\n'));
    assert.match(message, /^no process to run/);
  });

  it('Go, GOPATH-era .godir layout (Dokku\'s sample shape): built offline, `web: web` from the Procfile', async () => {
    const { release, lines } = await buildFixture('go-godir');
    assert.equal(release.config.buildpack, 'go');
    assert.ok(lines.includes('-----> go install example.com/web (GOPATH layout from .godir, modules off)'), lines.join('\n'));
    assert.equal(release.config.command, 'web');
    assert.match((await (await start(release)).get('/hi')).body, /go-godir fixture says hello from \/hi/);
  });

  it('Go module with vendor/: built offline (GOPROXY=off), web is the binary named after the module', async () => {
    const { release } = await buildFixture('go-module');
    assert.equal(release.config.command, 'bin/hello');
    assert.ok(existsSync(join(release.dir, 'bin', 'tool')), 'every main package is built');
    assert.match((await (await start(release)).get('/v')).body, /go-module fixture \(vendored greet\) says hello from \/v/);
  });

  it('a Go module that requires modules without vendor/ fails saying to vendor them', async () => {
    const dir = tmpDir('sp-wild-');
    const repo = join(dir, 'repo');
    fixtureRepo('go-module', repo);
    const sha = commit(repo, { vendor: null });
    const lines: string[] = [];
    await assert.rejects(buildRelease(input('go', repo, sha), { dataDir: join(dir, 'data'), access: {}, log: (l) => lines.push(l) }), /go bin\/compile failed \(exit 1\): go\.mod requires modules and there is no vendor\/ directory/);
    assert.ok(lines.some((l) => l.includes('go.mod requires modules and there is no vendor/ directory: this ship builds Go offline')), lines.join('\n'));
  });

  it('a Dockerfile-only app fails saying Dockerfile builds are not supported', async () => {
    const { message } = await failure('dockerfile-only');
    assert.equal(message, 'Dockerfile builds are not supported on this ship: add a Procfile or set BUILDPACK_URL');
  });
});

describe('build steps say what they wait for', () => {
  it('a silent step prints what it runs after STARPHLEET_BUILD_QUIET; a timeout names the step', async () => {
    const dir = tmpDir('sp-wild-');
    // A buildpack that names its step, then waits (as a fetch from an unreachable registry would).
    const bp = join(dir, 'buildpack');
    initRepo(bp, { 'bin/compile': { content: '#!/usr/bin/env bash\necho "-----> fetching the dependencies"\nexec sleep 600\n', mode: 0o755 } });
    const repo = join(dir, 'repo');
    const sha = fixtureRepo('procfile-app', repo);
    const lines: string[] = [];
    const err = await buildRelease(input('quiet', repo, sha, { ordersEnv: { BUILDPACK_URL: bp } }), { dataDir: join(dir, 'data'), access: {}, log: (l) => lines.push(l), quietMs: 1500, timeoutMs: 20_000 }).then(
      () => assert.fail('the build should time out'),
      (e: unknown) => e as Error,
    );
    assert.ok(lines.some((l) => /^-----> no output for \d+ s from buildpack-1 bin\/compile \(at "fetching the dependencies"\): running sleep 600$/.test(l)), lines.join('\n'));
    assert.match(err.message, new RegExp(`^${bp.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} bin/compile did not finish within the build time limit \\(20 s\\) and was killed \\(at "fetching the dependencies", running sleep 600\\)$`));
  });
});
