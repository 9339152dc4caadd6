import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { checkDataPath, treeKey } from '../../../src/data-orders/tree.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey } from '../../helpers/keys.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { httpGet, statusJson } from '../../helpers/phleet.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

interface Status {
  services: { name: string; release: string | null }[];
  data: { path: string; sha: string | null; state: string; message: string }[];
  problems: string[];
}

describe('data orders: <path>/remote synced into /var/data/<path>', { timeout: 600_000 }, () => {
  const root = tmpDir('sp-data-');
  const app = join(root, 'app');
  const docs = join(root, 'docs-repo');
  const outside = join(root, 'outside');
  const dataDir = join(root, 'data');
  let hq: PushableHq;
  let ship: ShipProcess;
  let key: ReturnType<typeof makeKey>;
  const get = async (path: string): Promise<string | null> => {
    const r = await httpGet(ship.httpPort, `/web${path}`).catch(() => null);
    return r?.status === 200 ? r.body : null;
  };
  const status = async (): Promise<Status> => {
    return statusJson<Status>(dataDir);
  };

  before(async () => {
    fixtureRepo('data-reader-app', app);
    const v1 = initRepo(docs, { 'greeting.txt': 'hello v1\n', 'notes/deep.txt': 'deep v1\n' });
    assert.ok(v1);
    mkdirSync(outside);
    key = makeKey(root, 'admiral');
    hq = new PushableHq(root, {
      'web/orders': `autodeploy ${app}\nexport HEALTHCHECK_TIMEOUT=30\n`,
      'docs/remote': `autodeploy ${docs}\n`,
      'authorized_keys/admiral.pub': `${key.pub}\n`,
    });
    ship = await startShip({ headquarters: hq.bare, dataDir, pulse: 0.5 });
    await waitFor(async () => (await get('/docs/greeting.txt')) === 'hello v1\n', () => `the instance serves /var/data/docs/greeting.txt\n${ship.output().slice(-3000)}`, 300_000, 500);
  });

  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  test('the tree is in the instance at /var/data/docs and follows its repo without a redeploy', async () => {
    assert.equal(await get('/docs/notes/deep.txt'), 'deep v1\n');
    const before = await status();
    const release = before.services.find((s) => s.name === 'web')?.release;
    assert.deepEqual(before.data.map((d) => [d.path, d.state]), [['docs', 'synced']]);
    const v2 = commit(docs, { 'greeting.txt': 'hello v2\n', 'notes/deep.txt': null, 'new.txt': 'new in v2\n' }, 'v2');
    await waitFor(async () => (await get('/docs/greeting.txt')) === 'hello v2\n', 'the instance sees v2', 120_000, 250);
    assert.equal(await get('/docs/new.txt'), 'new in v2\n');
    assert.equal(await get('/docs/notes/deep.txt'), null, 'a file removed in the repo is gone from the tree');
    const after = await status();
    assert.equal(after.services.find((s) => s.name === 'web')?.release, release, 'no redeploy');
    assert.equal(after.data[0]?.sha, v2);
    // Switched by a rename of a link into the shared tree: the tree it shows is read-only.
    assert.match(ship.output(), /data docs: \/var\/data\/docs is .* at [0-9a-f]{7} \(was [0-9a-f]{7}\)/);
  });

  test('SFTP shows the tree under /data/docs', async () => {
    const r = await sftpBatch({ key: key.privatePath, port: ship.sshPort, lines: ['get /data/docs/greeting.txt', 'ls /data/docs'] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(r.cwd, 'greeting.txt'), 'utf8'), 'hello v2\n');
    assert.match(r.stdout, /new\.txt/);
  });

  test('a bad URL keeps the last good tree and is reported in status', async () => {
    hq.commit({ 'docs/remote': `autodeploy ${join(root, 'no-such-repo')}\n` }, 'bad data url');
    const s = await waitFor(async () => {
      const st = await status();
      return st.data.find((d) => d.path === 'docs' && d.state === 'failed') ? st : null;
    }, () => `docs sync reported failed\n${ship.output().slice(-2000)}`, 120_000, 500);
    assert.match(s.data[0]?.message ?? '', /keeps [0-9a-f]{7}/);
    assert.ok(s.problems.some((p) => p.startsWith('docs/remote: data sync failed')), s.problems.join('\n'));
    assert.equal(await get('/docs/greeting.txt'), 'hello v2\n');
  });

  test('a symlink an instance planted in /var/data where a data path goes is not followed', async () => {
    // What a hostile instance could do: /var/data is theirs to write.
    symlinkSync(outside, join(dataDir, 'data', 'evil'));
    hq.commit({ 'evil/inner/remote': `autodeploy ${docs}\n` }, 'data order under a planted link');
    const s = await waitFor(async () => (await status()).data.find((d) => d.path === 'evil/inner' && d.state === 'failed'), 'evil/inner refused', 120_000, 500);
    assert.match(s.message, /\/var\/data\/evil is not a directory/);
    assert.deepEqual(readdirSync(outside), [], 'nothing written where the link points');
  });

  test('a data order removed from HQ takes its link and trees along', async () => {
    hq.commit({ 'docs/remote': null }, 'no more docs');
    await waitFor(async () => (await get('/docs/greeting.txt')) === null, 'the instance no longer finds /var/data/docs', 120_000, 250);
    // The link goes first (no instance reads a tree being deleted), then its trees: seen in CI between the two.
    await waitFor(() => !existsSync(join(dataDir, 'data', '.data-orders', 'docs')), 'the trees of docs removed', 60_000, 250);
    await waitFor(async () => !(await status()).data.some((d) => d.path === 'docs'), 'docs gone from status', 60_000, 250);
  });

  test('paths: only directory names, never .. or the trees dir', () => {
    assert.equal(checkDataPath('a/b-c.d'), null);
    for (const bad of ['', '../x', 'a/../b', '/abs', 'a//b', '.data-orders', 'a/.hidden']) assert.notEqual(checkDataPath(bad), null, bad);
    assert.equal(treeKey('a/b'), 'a+b');
  });
});
