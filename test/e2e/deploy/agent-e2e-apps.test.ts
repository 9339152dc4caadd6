import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { httpGet, servedBody, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * A real `starphleet ship` with a real HQ repo ordering the fixture apps from real git repos: each is built by the
 * real buildpacks and answers through the front door at its mount.
 */
const root = tmpDir('sp-e2e-apps-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const repo = (name: string): string => join(root, 'repos', name);
let ship: ShipProcess;

const DEPLOY_MS = 120_000;

const answers = (path: string, re: RegExp, what: string): Promise<string> => servedBody(ship.httpPort, path, re, what, DEPLOY_MS, 250);

before(async () => {
  for (const f of ['node-app', 'static-site', 'procfile-app', 'python-app', 'custom-app', 'custom-buildpack']) fixtureRepo(f, repo(f));
  // The env fixture: the node app with a .env of its own defaults.
  fixtureRepo('node-app', repo('envy'));
  commit(repo('envy'), { '.env': 'GREETING=from-dotenv\nONLY_DOTENV=yes\n' });
  // The pinning fixture: a static site with a tag, a branch and a commit to pin.
  const site = repo('site');
  initRepo(site, { 'index.html': '<p>one</p>\n' });
  const one = gitIn(site, 'rev-parse', 'HEAD');
  gitIn(site, 'tag', 'v1');
  gitIn(site, 'checkout', '-q', '-b', 'feature');
  commit(site, { 'index.html': '<p>feature</p>\n' });
  gitIn(site, 'checkout', '-q', 'master');
  commit(site, { 'index.html': '<p>two</p>\n' });
  initRepo(hq, {
    'node/orders': `autodeploy ${repo('node-app')}\nexport GREETING="from orders"\n`,
    'static/orders': `autodeploy ${repo('static-site')}\n`,
    'procfile/orders': `autodeploy ${repo('procfile-app')}\n`,
    'python/orders': `autodeploy ${repo('python-app')}\nexport GREETING=py\n`,
    'custom/orders': `autodeploy ${repo('custom-app')}\nexport BUILDPACK_URL=${repo('custom-buildpack')}\n`,
    'env/orders': `autodeploy ${repo('envy')}\n`,
    'pin/branch/orders': `autodeploy ${site}#feature\n`,
    'pin/tag/orders': `autodeploy ${site}#v1\n`,
    'pin/sha/orders': `autodeploy ${site}#${one}\n`,
    'pin/head/orders': `autodeploy ${site}\n`,
    'hidden/orders': `autodeploy ${repo('procfile-app')}\nunpublished\n`,
  });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RETRY_BASE: '1' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe('fixture apps deployed from orders', () => {
  test('node, static, Procfile, python and a BUILDPACK_URL buildpack each answer at their mount', async () => {
    const node = await answers('/node/hello', /node-app fixture says hello/, 'node app');
    assert.match(node, /path=\/hello\n/, 'the mount path is stripped');
    assert.match(node, /GREETING=from orders/);
    assert.match(node, /STARPHLEET_SHIP=testship/);
    const port = /PORT=(\d+)/.exec(node)?.[1];
    assert.ok(port && Number(port) !== ship.httpPort, 'the instance got a PORT of its own');
    assert.match(await answers('/static/', /<h1>static-site fixture<\/h1>/, 'static site'), /about/);
    assert.match(await answers('/static/about/', /about/, 'static about page'), /about/);
    await answers('/procfile/x', /procfile-app fixture says hello from \/x/, 'Procfile app');
    const py = await answers('/python/y', /python-app fixture says hello from \/y/, 'python app');
    assert.match(py, /venv=True/);
    assert.match(py, /GREETING=py/);
    const custom = await answers('/custom/index.txt', /custom buildpack compiled: message from custom-app/, 'custom buildpack app');
    assert.match(custom, /cache runs: 1/);
    const redirect = await httpGet(ship.httpPort, '/node');
    assert.equal(redirect.status, 301);
    assert.equal((await httpGet(ship.httpPort, '/nothing-here/')).status, 404);
  });

  test('status shows each service serving with its front door URL, sha and release', async () => {
    const rows = await waitFor(async () => {
      const s = await statusServices(dataDir);
      return s.filter((r) => r.state === 'serving').length >= 5 ? s : null;
    }, 'services serving in status', DEPLOY_MS);
    const node = rows.find((r) => r.name === 'node');
    assert.equal(node?.url, `http://127.0.0.1:${ship.httpPort}/node/`);
    assert.equal(node?.sha, gitIn(repo('node-app'), 'rev-parse', 'HEAD'));
    assert.match(node?.release ?? '', /^\d{14}-[0-9a-f]{7}/);
  });

  test('env precedence: repo .env < orders exports < HQ .starphleet', async () => {
    await answers('/env/', /GREETING=from-dotenv/, 'the .env value');
    commit(hq, { 'env/orders': `autodeploy ${repo('envy')}\nexport GREETING=from-orders\n` });
    await answers('/env/', /GREETING=from-orders/, 'orders over .env');
    commit(hq, { '.starphleet': 'export GREETING=from-hq\n' });
    await answers('/env/', /GREETING=from-hq/, 'HQ .starphleet over orders');
    await answers('/node/', /GREETING=from-hq/, 'HQ env applies to every service');
  });

  test('#branch, #tag and #sha pin; no ref follows the default branch', async () => {
    await answers('/pin/branch/', /feature/, 'branch');
    await answers('/pin/tag/', /one/, 'tag');
    await answers('/pin/sha/', /one/, 'sha');
    await answers('/pin/head/', /two/, 'default branch');
    commit(repo('site'), { 'index.html': '<p>three</p>\n' });
    await answers('/pin/head/', /three/, 'a new commit on the default branch');
    assert.match((await httpGet(ship.httpPort, '/pin/tag/')).body, /one/);
    assert.match((await httpGet(ship.httpPort, '/pin/sha/')).body, /one/);
    assert.match((await httpGet(ship.httpPort, '/pin/branch/')).body, /feature/);
  });

  test('unpublished runs without a route; a removed order stops and unroutes its service', async () => {
    const hidden = await waitFor(async () => (await statusServices(dataDir)).find((r) => r.name === 'hidden' && r.state === 'serving'), 'hidden serving', DEPLOY_MS);
    assert.equal(hidden.url, null);
    assert.equal((await httpGet(ship.httpPort, '/hidden/')).status, 404);
    await answers('/procfile/', /procfile-app/, 'procfile app before removal');
    commit(hq, { 'procfile/orders': null });
    await waitFor(async () => (await httpGet(ship.httpPort, '/procfile/')).status === 404, 'procfile route gone', 30_000);
    await waitFor(async () => !(await statusServices(dataDir)).some((r) => r.name === 'procfile'), 'procfile status gone', 30_000);
    await ship.waitForLog(/procfile: removed/, 30_000);
  });
});
