import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { BuildError, buildRelease, listReleases } from '../../../src/agent/releases/build-release.js';
import type { BuildInput, Release } from '../../../src/agent/types.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit } from '../../helpers/git.js';
import { startGitHttp } from '../../helpers/git-http.js';
import { runRelease, type RunningRelease } from '../../helpers/run-release.js';
import { tmpDir } from '../../helpers/tmp.js';

const running: RunningRelease[] = [];
after(async () => {
  for (const r of running) await r.stop();
});

function input(service: string, giturl: string, sha: string, extra: Partial<BuildInput> = {}): BuildInput {
  return { service, giturl, sha, ordersEnv: {}, hqEnv: {}, shipName: 'testship', ...extra };
}

/** Builds a fixture as a fresh repo; returns the release and every line the build streamed. */
async function buildFixture(fixture: string, extra: Partial<BuildInput> = {}, timeoutMs?: number): Promise<{ release: Release; lines: string[]; dataDir: string }> {
  const dir = tmpDir('sp-build-');
  const sha = fixtureRepo(fixture, join(dir, 'repo'));
  const lines: string[] = [];
  const dataDir = join(dir, 'data');
  const release = await buildRelease(input(fixture, join(dir, 'repo'), sha, extra), { dataDir, access: {}, log: (l) => lines.push(l), ...(timeoutMs ? { timeoutMs } : {}) });
  return { release, lines, dataDir };
}

async function start(release: Release): Promise<RunningRelease> {
  const r = await runRelease(release);
  running.push(r);
  return r;
}

describe('built-in buildpacks build their fixtures, and the built apps answer', () => {
  it('node: npm install, npm run build, the start script run without npm, healthcheck file, env', async () => {
    const { release, lines } = await buildFixture('node-app', { ordersEnv: { GREETING: 'from orders' } });
    assert.equal(release.config.buildpack, 'node');
    // The start script's own command: no npm process is kept around the app.
    assert.equal(release.config.command, 'node server.js');
    assert.equal(release.config.env.NODE_ENV, 'production');
    assert.equal(release.config.healthcheck, '/health');
    assert.ok(lines.includes('node-app build script wrote built.txt'), lines.join('\n'));
    assert.match(readFileSync(join(release.dir, 'built.txt'), 'utf8'), /GREETING=from orders/);
    const app = await start(release);
    const { status, body } = await app.get('/hello');
    assert.equal(status, 200);
    assert.match(body, /node-app fixture says hello/);
    assert.match(body, new RegExp(`PORT=${app.port}\\b`));
    assert.match(body, /GREETING=from orders/);
    assert.match(body, /STARPHLEET_SHIP=testship/);
  });

  it('node: npm ci when a lock file is committed', async () => {
    const dir = tmpDir('sp-build-');
    const repo = join(dir, 'repo');
    fixtureRepo('node-app', repo);
    const lock = { name: 'node-app-fixture', version: '1.0.0', lockfileVersion: 3, requires: true, packages: { '': { name: 'node-app-fixture', version: '1.0.0' } } };
    const sha = commit(repo, { 'package-lock.json': `${JSON.stringify(lock, null, 2)}\n` });
    const lines: string[] = [];
    await buildRelease(input('node-ci', repo, sha), { dataDir: join(dir, 'data'), access: {}, log: (l) => lines.push(l) });
    assert.ok(lines.includes('-----> npm ci --include=dev'), lines.join('\n'));
  });

  it('static: index.html served by the bundled server on PORT, dot files refused', async () => {
    const { release } = await buildFixture('static-site');
    assert.equal(release.config.buildpack, 'static');
    const app = await start(release);
    assert.match((await app.get('/')).body, /<h1>static-site fixture<\/h1>/);
    assert.match((await app.get('/about/')).body, /about the static-site fixture/);
    assert.equal((await app.get('/style.css')).status, 200);
    assert.equal((await app.get('/.env')).status, 404);
    assert.equal((await app.get('/%2e%2e/%2e%2e/etc/passwd')).status, 404);
    assert.equal((await app.get('/missing.html')).status, 404);
  });

  it('procfile: nothing to compile, the Procfile web line runs', async () => {
    const { release } = await buildFixture('procfile-app');
    assert.equal(release.config.buildpack, 'procfile');
    assert.equal(release.config.command, 'python3 server.py');
    const app = await start(release);
    assert.match((await app.get('/x')).body, /procfile-app fixture says hello from \/x/);
  });

  it('python: a venv in the release, the app runs with it', async () => {
    const { release } = await buildFixture('python-app', { hqEnv: { GREETING: 'from hq' } });
    assert.equal(release.config.buildpack, 'python');
    assert.equal(release.config.command, '.venv/bin/python app.py');
    assert.ok(existsSync(join(release.dir, '.venv', 'pyvenv.cfg')));
    const app = await start(release);
    const { body } = await app.get('/py');
    assert.match(body, /python-app fixture says hello from \/py/);
    assert.match(body, /venv=True/);
    assert.match(body, /GREETING=from hq/);
  });

  it('the fixtures the run side fails on still build', async () => {
    assert.equal((await buildFixture('never-healthy')).release.config.command, 'python3 server.py');
    assert.match((await buildFixture('crash-at-start')).release.config.command, /exit 1/);
  });
});

describe('BUILDPACK_URL and Procfile', () => {
  it('a public git buildpack named in the repo .env is fetched and used instead of detection, with cache and env dir', async () => {
    const dir = tmpDir('sp-build-');
    const bpSha = fixtureRepo('custom-buildpack', join(dir, 'buildpack'));
    const server = await startGitHttp(join(dir, 'served'));
    after(() => server.close());
    server.publish(join(dir, 'buildpack'), 'buildpack');
    const repo = join(dir, 'app');
    fixtureRepo('custom-app', repo);
    const url = `${server.url('buildpack')}#master`;
    const sha = commit(repo, { '.env': `${readFileSync(join(repo, '.env'), 'utf8')}BUILDPACK_URL=${url}\n` });
    const dataDir = join(dir, 'data');
    const lines: string[] = [];
    const build = (): Promise<Release> => buildRelease(input('custom', repo, sha), { dataDir, access: {}, log: (l) => lines.push(l) });
    const first = await build();
    assert.equal(first.config.buildpack, url);
    assert.equal(first.config.layers[1]?.version, `${server.url('buildpack')}#${bpSha}`);
    assert.ok(lines.includes(`-----> Fetching buildpack ${url} (named by the repo: fetched without the ship's credentials)`), lines.join('\n'));
    assert.ok(lines.some((l) => /custom buildpack compile ran \(cache runs: 1\)/.test(l)), lines.join('\n'));
    // bin/release config_vars are defaults: the repo .env wins over them, unset names come through.
    assert.equal(first.config.env.GREETING, 'hello from custom-app .env');
    assert.equal(first.config.env.FROM_BUILDPACK, 'buildpack default');
    const index = readFileSync(join(first.dir, 'public', 'index.txt'), 'utf8');
    assert.match(index, /custom buildpack compiled: message from custom-app/);
    assert.match(index, /env dir GREETING: hello from custom-app .env/);
    const app = await start(first);
    assert.match((await app.get('/index.txt')).body, /custom buildpack compiled/);
    // The cache dir persists between builds of a service.
    const second = await build();
    assert.match(readFileSync(join(second.dir, 'public', 'index.txt'), 'utf8'), /cache runs: 2/);
  });

  it('BUILDPACK_URL from the orders wins over detection too, and a bad one fails the build naming it', async () => {
    const dir = tmpDir('sp-build-');
    fixtureRepo('custom-buildpack', join(dir, 'buildpack'));
    const repo = join(dir, 'app');
    const sha = fixtureRepo('custom-app', repo);
    const release = await buildRelease(input('custom', repo, sha, { ordersEnv: { BUILDPACK_URL: join(dir, 'buildpack') } }), { dataDir: join(dir, 'data'), access: {}, log: () => {} });
    assert.match(readFileSync(join(release.dir, 'public', 'index.txt'), 'utf8'), /custom buildpack compiled/);
    await assert.rejects(
      buildRelease(input('custom', repo, sha, { ordersEnv: { BUILDPACK_URL: `${join(dir, 'buildpack')}#no-such-branch` } }), { dataDir: join(dir, 'data'), access: {}, log: () => {} }),
      /BUILDPACK_URL .*no-such-branch/,
    );
  });

  it("Procfile's web line wins over the buildpack's default", async () => {
    const dir = tmpDir('sp-build-');
    const repo = join(dir, 'repo');
    fixtureRepo('node-app', repo);
    const sha = commit(repo, { Procfile: 'web: node server.js --from-procfile\nworker: node worker.js\n' });
    const release = await buildRelease(input('node-procfile', repo, sha), { dataDir: join(dir, 'data'), access: {}, log: () => {} });
    assert.equal(release.config.buildpack, 'node');
    assert.equal(release.config.command, 'node server.js --from-procfile');
    const app = await start(release);
    assert.match((await app.get('/')).body, /node-app fixture says hello/);
  });
});

describe('failed builds', () => {
  it('a failing compile leaves no release, and its reason is in the streamed lines and the build log', async () => {
    const dir = tmpDir('sp-build-');
    const sha = fixtureRepo('bad-build', join(dir, 'repo'));
    const dataDir = join(dir, 'data');
    const lines: string[] = [];
    const err = await buildRelease(input('bad', join(dir, 'repo'), sha), { dataDir, access: {}, log: (l) => lines.push(l) }).then(
      () => assert.fail('the build should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof BuildError);
    assert.equal(err.message, 'node bin/compile failed (exit 3)');
    assert.ok(lines.some((l) => l.includes('bad-build fixture: this build fails on purpose')), lines.join('\n'));
    assert.equal(lines.at(-1), '!      build failed: node bin/compile failed (exit 3)');
    assert.match(readFileSync(err.logFile, 'utf8'), /this build fails on purpose[\s\S]*build failed: node bin\/compile failed/);
    assert.deepEqual(await listReleases(dataDir, 'bad'), []);
    assert.equal(existsSync(join(dataDir, 'services', 'bad')), false, 'no release dir, not even an empty one');
    assert.deepEqual(readdirSync(join(dataDir, 'tmp')), []);
  });

  it('a build past its time limit is killed with its whole process group', async () => {
    const dir = tmpDir('sp-build-');
    const repo = join(dir, 'repo');
    fixtureRepo('node-app', repo);
    const marker = join(dir, 'still-running');
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // The build starts a grandchild that would write the marker later: killing only npm would let it live.
    pkg.scripts.build = `(sleep 3; touch ${marker}) & sleep 60`;
    const sha = commit(repo, { 'package.json': JSON.stringify(pkg) });
    const lines: string[] = [];
    await assert.rejects(
      buildRelease(input('slow', repo, sha), { dataDir: join(dir, 'data'), access: {}, log: (l) => lines.push(l), timeoutMs: 1500 }),
      /node bin\/compile did not finish within the build time limit \(2 s\) and was killed/,
    );
    await new Promise((r) => setTimeout(r, 4000));
    assert.equal(existsSync(marker), false, 'a process of the killed build lived on');
    assert.deepEqual(await listReleases(join(dir, 'data'), 'slow'), []);
  });

  it('a cancelled build (AbortSignal) stops its scripts and leaves no release', async () => {
    const dir = tmpDir('sp-build-');
    const repo = join(dir, 'repo');
    fixtureRepo('node-app', repo);
    const pkg = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    pkg.scripts.build = 'echo waiting-to-be-cancelled; sleep 60';
    const sha = commit(repo, { 'package.json': JSON.stringify(pkg) });
    const ac = new AbortController();
    const lines: string[] = [];
    const log = (l: string): void => {
      lines.push(l);
      if (l === 'waiting-to-be-cancelled') ac.abort();
    };
    await assert.rejects(buildRelease(input('cancel', repo, sha), { dataDir: join(dir, 'data'), access: {}, log, signal: ac.signal }), /^BuildError: build cancelled$/m);
    assert.equal(lines.at(-1), '!      build failed: build cancelled');
    assert.equal(existsSync(join(dir, 'data', 'services', 'cancel')), false);
  });

  it('a repo no buildpack applies to fails with a clear line', async () => {
    const dir = tmpDir('sp-build-');
    const repo = join(dir, 'repo');
    const sha = fixtureRepo('custom-app', repo);
    await assert.rejects(buildRelease(input('none', repo, sha), { dataDir: join(dir, 'data'), access: {}, log: () => {} }), /no buildpack applies/);
  });
});
