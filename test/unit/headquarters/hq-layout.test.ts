import assert from 'node:assert/strict';
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { parseHtpasswd } from '../../../src/headquarters/htpasswd.js';
import { parseJobs } from '../../../src/headquarters/jobs.js';
import { readHeadquarters, serviceName } from '../../../src/headquarters/layout.js';
import { keepLastGoodOrders, serviceChanges } from '../../../src/headquarters/merge.js';
import { writeFiles } from '../../helpers/git.js';
import { makeKey } from '../../helpers/keys.js';
import { tmpDir } from '../../helpers/tmp.js';

test('layout: names', () => {
  assert.equal(serviceName('/'), 'root');
  assert.equal(serviceName('/echo'), 'echo');
  assert.equal(serviceName('/a/b'), 'a.b');
});

test('layout: a full HQ becomes one typed desired state, problems as values with file and line', async () => {
  const hq = tmpDir('sp-layout-');
  const key = makeKey(tmpDir('sp-k-'), 'alice');
  writeFiles(hq, {
    orders: 'autodeploy https://example.com/root.git\n',
    'echo/orders': 'autodeploy /srv/echo#main\nexport GREETING=hi\n',
    'echo/.htpasswd': 'alice:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\nbob:plaintext\n',
    'a/b/orders': 'autodeploy /srv/ab\n',
    'a.b/orders': 'autodeploy /srv/clash\n',
    'broken/orders': 'autodeploy /srv/x\nnope\n',
    'starphleet/orders': 'autodeploy /srv/s\n',
    'shared/remote': 'autodeploy https://example.com/data.git\n',
    'authorized_keys/alice': `${key.pub}\n`,
    'authorized_keys/junk': 'hello\n',
    jobs: '# nightly\n0 3 * * * /echo/cleanup\nbad line\n',
    '.starphleet': 'export DB_URL="postgres://x"\n',
    'shipscripts/dns': { content: '#!/bin/sh\n', mode: 0o755 },
    'shipscripts/notexec': '#!/bin/sh\n',
    'containers/ruby': 'apt-get install ruby\n',
  });
  symlinkSync('/etc', join(hq, 'escape'));
  const s = await readHeadquarters(hq, { sha: null, evalTimeoutMs: 5000 });
  assert.deepEqual(s.services.map((x) => [x.mount, x.name, x.orders.giturl]), [
    ['/', 'root', 'https://example.com/root.git'],
    ['/a/b', 'a.b', '/srv/ab'],
    ['/echo', 'echo', '/srv/echo'],
  ]);
  assert.equal(s.services.find((x) => x.name === 'echo')?.orders.ref, 'main');
  assert.deepEqual(s.brokenOrders, ['/broken']);
  assert.deepEqual(s.admirals.map((a) => [a.file, a.fingerprint]), [['authorized_keys/alice', key.fingerprint]]);
  assert.deepEqual(s.htpasswd.map((h) => [h.mount, h.entries.map((e) => e.user)]), [['/echo', ['alice', 'bob']]]);
  assert.deepEqual(s.dataRemotes.map((d) => [d.path, d.giturl]), [['shared', 'https://example.com/data.git']]);
  assert.deepEqual(s.jobs.map((j) => [j.line, j.schedule, j.url]), [[2, '0 3 * * *', '/echo/cleanup']]);
  assert.deepEqual(s.env, { DB_URL: 'postgres://x' });
  assert.deepEqual(s.shipscripts.map((x) => x.name), ['dns']);
  assert.deepEqual(s.containers.map((x) => x.name), ['ruby']);
  const problems = s.problems.map((p) => `${p.file}${p.line ? `:${p.line}` : ''}`);
  for (const expected of ['a.b/orders', 'authorized_keys/junk:1', 'broken/orders:2', 'echo/.htpasswd:2', 'escape', 'jobs:3', 'shipscripts/notexec', 'starphleet/orders']) {
    assert.ok(problems.includes(expected), `expected a problem at ${expected}, got ${problems.join(', ')}`);
  }
  assert.ok(Object.isFrozen(s) && Object.isFrozen(s.services[0]));
});

test('layout: broken orders keep the last good orders of that mount in force', async () => {
  const hq = tmpDir('sp-merge-');
  writeFiles(hq, { 'a/orders': 'autodeploy /srv/a\n', 'b/orders': 'autodeploy /srv/b\n' });
  const first = await readHeadquarters(hq, { sha: 'one', evalTimeoutMs: 5000 });
  writeFiles(hq, { 'a/orders': 'autodeploy /srv/a\nbroken verb\n', 'b/orders': 'autodeploy /srv/b2\n', 'c/orders': 'autodeploy /srv/c\n' });
  const second = keepLastGoodOrders(await readHeadquarters(hq, { sha: 'two', evalTimeoutMs: 5000 }), first);
  assert.deepEqual(second.services.map((s) => [s.name, s.orders.giturl, s.stale]), [
    ['a', '/srv/a', true],
    ['b', '/srv/b2', false],
    ['c', '/srv/c', false],
  ]);
  assert.ok(second.problems.some((p) => p.file === 'a/orders' && p.line === 2));
  assert.deepEqual(serviceChanges(first, second), { added: ['c'], changed: ['b'], removed: [], placed: [] });
  writeFiles(hq, { 'a/orders': null });
  const third = keepLastGoodOrders(await readHeadquarters(hq, { sha: 'three', evalTimeoutMs: 5000 }), second);
  assert.deepEqual(serviceChanges(second, third).removed, ['a']);
});

test('layout: a virtual host claimed by two services is a problem for the second', async () => {
  const hq = tmpDir('sp-vhost-');
  writeFiles(hq, { 'a/orders': 'autodeploy /srv/a\nproxy_for www.example.com\n', 'b/orders': 'autodeploy /srv/b\nproxy_for WWW.example.com api.example.com\n' });
  const s = await readHeadquarters(hq, { sha: null, evalTimeoutMs: 5000 });
  assert.deepEqual(s.problems.map((p) => `${p.file}: ${p.message}`), ['b/orders: proxy_for www.example.com: already claimed by a/orders']);
});

test('jobs: five cron fields and a url per line', () => {
  const r = parseJobs('*/5 * * * * https://example.com/tick\n61 * * * * /x\n* * * * /x\n0 0 * * * ftp://x\n', 'jobs');
  assert.deepEqual(r.jobs.map((j) => j.url), ['https://example.com/tick']);
  assert.deepEqual(r.problems.map((p) => p.line), [2, 3, 4]);
});

test('htpasswd: known hash formats pass, unknown ones are problems', () => {
  const r = parseHtpasswd(
    ['a:$2y$05$abcdefghijklmnopqrstuu5s2v8.iXieOjg/.AySBTTZIIVFJeBwi', 'b:$apr1$abcdefgh$0123456789abcdefghijkl', 'c:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=', 'd:crypt', 'nocolon'].join('\n'),
    'x/.htpasswd',
  );
  assert.deepEqual(r.entries.map((e) => e.user), ['a', 'b', 'c', 'd']);
  assert.deepEqual(r.problems.map((p) => p.line), [4, 5]);
});
