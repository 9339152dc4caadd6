import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { listTree, unpackLayers } from '../../../src/agent/releases/layers.js';
import { publicConfig } from '../../../src/agent/releases/release-store.js';
import { buildRelease, listReleases, loadRelease, markServing, pruneReleases, removeService, servingRelease } from '../../../src/agent/releases/build-release.js';
import type { BuildInput, Release } from '../../../src/agent/types.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

function input(service: string, giturl: string, sha: string, extra: Partial<BuildInput> = {}): BuildInput {
  return { service, giturl, sha, ordersEnv: {}, hqEnv: {}, shipName: 'testship', ...extra };
}

/** Path -> type, exec bit, content (or link target): equal trees give equal maps. */
function snapshot(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(join(root, rel)).sort()) {
      const p = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(root, p));
      if (st.isSymbolicLink()) out.set(p, `link ${readlinkSync(join(root, p))}`);
      else if (st.isDirectory()) {
        out.set(p, `dir ${(st.mode & 0o777).toString(8)}`);
        walk(p);
      } else out.set(p, `file ${(st.mode & 0o777).toString(8)} ${createHash('sha256').update(readFileSync(join(root, p))).digest('hex')}`);
    }
  };
  walk('');
  return out;
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('layers and the release tree', () => {
  it('layers are named by their sha256, in order source, build, config; unpacking them in order gives the release tree', async () => {
    const dir = tmpDir('sp-rel-');
    const repo = join(dir, 'repo');
    const sha = fixtureRepo('node-app', repo);
    const dataDir = join(dir, 'data');
    const release = await buildRelease(input('app', repo, sha), { dataDir, access: {}, log: () => {} });
    assert.deepEqual(release.config.layers.map((l) => l.component), ['source', 'build', 'config']);
    assert.equal(release.config.layers[0]?.version, sha);
    assert.match(release.config.layers[1]?.version ?? '', /^node@/);
    for (const l of release.config.layers) {
      const file = join(dataDir, 'layers', `${l.sha256}.tar.gz`);
      assert.equal(sha256(file), l.sha256);
      assert.equal(statSync(file).size, l.size);
    }
    const again = join(dir, 'unpacked');
    await unpackLayers(dataDir, release.config.layers, again);
    assert.deepEqual(snapshot(release.dir), new Map([...snapshot(again)].map(([p, v]) => [p, v.replace(/^(dir|file) (\d+)/, (_m, t: string, mode: string) => `${t} ${(parseInt(mode, 8) & ~0o222).toString(8)}`)])));
    // The build layer holds only what the build added or changed; the source layer exactly the tree at the sha.
    await unpackLayers(dataDir, release.config.layers.slice(0, 1), join(dir, 'only-source'));
    assert.deepEqual([...(await listTree(join(dir, 'only-source'))).keys()], ['.env', 'build.js', 'healthcheck', 'package.json', 'server.js']);
    await unpackLayers(dataDir, release.config.layers.slice(1, 2), join(dir, 'only-build'));
    assert.deepEqual([...(await listTree(join(dir, 'only-build'))).keys()], ['.profile.d', '.profile.d/000-node.sh', 'built.txt', 'package-lock.json']);
    // The config layer names the env; its values stay in releases/<id>.json (0600, out of the SFTP view).
    const cfg = JSON.parse(readFileSync(join(release.dir, '.starphleet', 'release.json'), 'utf8')) as { command: string; env?: unknown; envNames: string[] };
    assert.equal(cfg.command, 'node server.js');
    assert.equal(cfg.env, undefined);
    assert.ok(cfg.envNames.includes('STARPHLEET_SHIP'));
    assert.equal(release.config.env.STARPHLEET_SHIP, 'testship');
    assert.equal(statSync(join(dataDir, 'services', release.config.service, 'releases', `${release.config.id}.json`)).mode & 0o077, 0);
  });

  it('the release tree is read-only and its config file matches', async () => {
    const dir = tmpDir('sp-rel-');
    const sha = fixtureRepo('static-site', join(dir, 'repo'));
    const dataDir = join(dir, 'data');
    const release = await buildRelease(input('site', join(dir, 'repo'), sha), { dataDir, access: {}, log: () => {} });
    for (const [p, v] of snapshot(release.dir)) assert.doesNotMatch(v, /^(dir|file) [0-7]*[2367][0-7]*\b/, `${p} is writable: ${v}`);
    assert.equal(statSync(release.dir).mode & 0o222, 0);
    assert.deepEqual((await loadRelease(dataDir, 'site', release.config.id))?.config, release.config);
    assert.match(release.config.id, /^\d{14}-[0-9a-f]{7}$/);
    assert.equal(release.config.id.slice(-7), sha.slice(0, 7));
  });

  it('identical source is stored once; a second build of the same sha gets a new unique id', async () => {
    const dir = tmpDir('sp-rel-');
    const repo = join(dir, 'repo');
    const sha = fixtureRepo('procfile-app', repo);
    const dataDir = join(dir, 'data');
    const a = await buildRelease(input('one', repo, sha), { dataDir, access: {}, log: () => {} });
    const b = await buildRelease(input('two', repo, sha), { dataDir, access: {}, log: () => {} });
    const c = await buildRelease(input('one', repo, sha), { dataDir, access: {}, log: () => {} });
    assert.equal(a.config.layers[0]?.sha256, b.config.layers[0]?.sha256);
    assert.equal(a.config.layers[1]?.sha256, c.config.layers[1]?.sha256);
    assert.notEqual(a.config.id, c.config.id);
    const all = new Set([a, b, c].flatMap((r) => r.config.layers.map((l) => l.sha256)));
    assert.deepEqual(readdirSync(join(dataDir, 'layers')).sort(), [...all].map((s) => `${s}.tar.gz`).sort());
    // Only the config layers differ (their deploy time): source and build are shared.
    assert.equal(all.size, 2 + 3);
  });
});

describe('env', () => {
  it('repo .env < orders exports < HQ .starphleet, plus the STARPHLEET_* the ship sets; PORT never stored', async () => {
    const dir = tmpDir('sp-rel-');
    const repo = join(dir, 'repo');
    fixtureRepo('procfile-app', repo);
    const sha = commit(repo, { '.env': 'A=repo\nB=repo\nC=repo\nexport D="multi\\nline"\nPORT=1\nthis is not a line\nSTARPHLEET_SHIP=spoofed\n' });
    const lines: string[] = [];
    const release = await buildRelease(input('env', repo, sha, { ordersEnv: { B: 'orders', C: 'orders', PORT: '2' }, hqEnv: { C: 'hq' } }), { dataDir: join(dir, 'data'), access: {}, log: (l) => lines.push(l) });
    const env = release.config.env;
    assert.deepEqual({ A: env.A, B: env.B, C: env.C, D: env.D }, { A: 'repo', B: 'orders', C: 'hq', D: 'multi\nline' });
    assert.equal(env.PORT, undefined);
    assert.equal(env.STARPHLEET_SHIP, 'testship');
    assert.equal(env.STARPHLEET_DEPLOY_GITURL, repo);
    assert.equal(env.STARPHLEET_DEPLOY_TIME, release.config.createdAt);
    assert.ok(lines.includes('.env:6: expected KEY=value, got "this is not a line" (line ignored)'), lines.join('\n'));
  });

  it('HEALTHCHECK and HEALTHCHECK_TIMEOUT come from the env; a bad timeout fails the build naming the key', async () => {
    const dir = tmpDir('sp-rel-');
    const repo = join(dir, 'repo');
    const sha = fixtureRepo('node-app', repo);
    const dataDir = join(dir, 'data');
    const r = await buildRelease(input('hc', repo, sha, { ordersEnv: { HEALTHCHECK: 'ready', HEALTHCHECK_TIMEOUT: '5' } }), { dataDir, access: {}, log: () => {} });
    assert.equal(r.config.healthcheck, '/ready');
    assert.equal(r.config.healthcheckTimeoutSeconds, 5);
    await assert.rejects(buildRelease(input('hc', repo, sha, { hqEnv: { HEALTHCHECK_TIMEOUT: 'soon' } }), { dataDir, access: {}, log: () => {} }), /HEALTHCHECK_TIMEOUT must be a positive number/);
    const fromFile = await buildRelease(input('hc', repo, sha), { dataDir, access: {}, log: () => {} });
    assert.equal(fromFile.config.healthcheck, '/health');
    assert.equal(fromFile.config.healthcheckTimeoutSeconds, 60);
  });
});

describe('serving, listing, pruning, removing', () => {
  async function builds(n: number): Promise<{ dataDir: string; releases: Release[] }> {
    const dir = tmpDir('sp-rel-');
    const repo = join(dir, 'repo');
    fixtureRepo('procfile-app', repo);
    const dataDir = join(dir, 'data');
    const releases: Release[] = [];
    for (let i = 0; i < n; i++) {
      const sha = commit(repo, { 'version.txt': `${i}\n` });
      releases.push(await buildRelease(input('svc', repo, sha), { dataDir, access: {}, log: () => {} }));
    }
    return { dataDir, releases };
  }

  it('markServing points current at the release and writes configs/<name>.json', async () => {
    const { dataDir, releases } = await builds(2);
    assert.equal(await servingRelease(dataDir, 'svc'), null);
    await markServing(dataDir, 'svc', releases[0]!.config.id);
    assert.equal((await servingRelease(dataDir, 'svc'))?.config.id, releases[0]!.config.id);
    await markServing(dataDir, 'svc', releases[1]!.config.id);
    assert.equal(readlinkSync(join(dataDir, 'services', 'svc', 'current')), `releases/${releases[1]!.config.id}`);
    assert.deepEqual(JSON.parse(readFileSync(join(dataDir, 'configs', 'svc.json'), 'utf8')), publicConfig(releases[1]!.config), 'env names, not values');
    assert.equal(readFileSync(join(dataDir, 'services', 'svc', 'current', 'version.txt'), 'utf8'), '1\n');
    await assert.rejects(markServing(dataDir, 'svc', '20000101000000-abcdef0'), /no release/);
    await assert.rejects(markServing(dataDir, '../etc', releases[0]!.config.id), /bad service name/);
  });

  it('pruneReleases keeps the newest N and the serving one, and deletes layers nobody references', async () => {
    const { dataDir, releases } = await builds(5);
    const ids = releases.map((r) => r.config.id);
    assert.deepEqual((await listReleases(dataDir, 'svc')).map((r) => r.config.id), ids);
    await markServing(dataDir, 'svc', ids[0]!);
    const removed = await pruneReleases(dataDir, 'svc', 2);
    assert.deepEqual(removed, ids.slice(1, 3));
    assert.deepEqual((await listReleases(dataDir, 'svc')).map((r) => r.config.id), [ids[0], ids[3], ids[4]]);
    for (const id of removed) assert.equal(existsSync(join(dataDir, 'services', 'svc', 'releases', id)), false);
    const wanted = new Set((await listReleases(dataDir, 'svc')).flatMap((r) => r.config.layers.map((l) => `${l.sha256}.tar.gz`)));
    assert.deepEqual(readdirSync(join(dataDir, 'layers')).sort(), [...wanted].sort());
    // Leftovers of an interrupted build (a tree without its config) go too.
    const orphan = join(dataDir, 'services', 'svc', 'releases', '20000101000000-abcdef0');
    writeFileSync(`${orphan}.json`, '{}');
    await pruneReleases(dataDir, 'svc', 2);
    assert.equal(existsSync(`${orphan}.json`), false);
    assert.equal((await servingRelease(dataDir, 'svc'))?.config.id, ids[0]);
  });

  it('removeService removes its releases, config, cache and now-unreferenced layers', async () => {
    const { dataDir, releases } = await builds(1);
    await markServing(dataDir, 'svc', releases[0]!.config.id);
    await removeService(dataDir, 'svc');
    assert.equal(existsSync(join(dataDir, 'services', 'svc')), false);
    assert.equal(existsSync(join(dataDir, 'configs', 'svc.json')), false);
    assert.equal(existsSync(join(dataDir, 'cache', 'svc')), false);
    assert.deepEqual(readdirSync(join(dataDir, 'layers')), []);
  });
});
