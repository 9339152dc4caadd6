import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { readHeadquarters } from '../../../src/headquarters/layout.js';
import { hqReport } from '../../../src/commands/hq-check.js';
import { evaluateOrders } from '../../../src/headquarters/orders.js';
import { globRegExp, previewWants, PREVIEW_DEFAULT_MAX, PREVIEW_DEFAULT_TTL_SECONDS } from '../../../src/headquarters/previews-orders.js';
import type { PreviewOrders } from '../../../src/headquarters/types.js';
import { writeFiles } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

async function evalText(text: string) {
  const dir = tmpDir('sp-orders-');
  writeFileSync(join(dir, 'orders'), text);
  return evaluateOrders(join(dir, 'orders'), 'web/orders', dir, 5000);
}

test('previews: no arguments means every branch, with the default --max and --ttl, no secrets', async () => {
  const r = await evalText('autodeploy /srv/app\npreviews\n');
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.orders?.previews, { patterns: [], max: PREVIEW_DEFAULT_MAX, ttlSeconds: PREVIEW_DEFAULT_TTL_SECONDS, secrets: false });
  const none = await evalText('autodeploy /srv/app\n');
  assert.equal(none.orders?.previews, undefined, 'no verb, no previews');
});

test('previews: patterns and flags, in any order, --flag=value too', async () => {
  const r = await evalText("autodeploy /srv/app#main\npreviews 'feature/*' fix-* '!feature/wip-*' 'refs/pull/*/head' --max=3 --ttl 12h --secrets\n");
  assert.deepEqual(r.problems, []);
  assert.deepEqual(r.orders?.previews, { patterns: ['feature/*', 'fix-*', '!feature/wip-*', 'refs/pull/*/head'], max: 3, ttlSeconds: 43_200, secrets: true });
  const off = await evalText('autodeploy /srv/app\npreviews --ttl off --max 0\n');
  assert.deepEqual(off.orders?.previews, { patterns: [], max: 0, ttlSeconds: null, secrets: false });
  for (const [ttl, s] of [['90m', 5400], ['2w', 1_209_600], ['30s', 30], ['7d', 604_800]] as const) {
    assert.equal((await evalText(`autodeploy /srv/app\npreviews --ttl ${ttl}\n`)).orders?.previews?.ttlSeconds, s, ttl);
  }
});

test('previews: a bad flag value is an orders error naming the file, the line and the flag; nothing of the orders is used', async () => {
  const cases: [string, RegExp][] = [
    ['previews --max x', /^previews --max: expected a whole number from 0 to 1000, got "x"$/],
    ['previews --max -1', /^previews --max: expected a whole number/],
    ['previews --max 5000', /^previews --max: expected a whole number/],
    ['previews --max', /^previews --max: needs a number/],
    ['previews --ttl 7', /^previews --ttl: expected a duration like 90m, 12h, 7d or 2w \(at most 366 days\), or off, got "7"$/],
    ['previews --ttl 0d', /^previews --ttl: expected a duration/],
    ['previews --ttl 400d', /^previews --ttl: expected a duration/],
    ['previews --ttl', /^previews --ttl: needs a duration/],
    ['previews --secrets=yes', /^previews --secrets takes no value$/],
    ['previews --maximum 3', /^previews --maximum: unknown flag \(known: --max N, --ttl DURATION, --secrets\)$/],
    ["previews 'a b'", /^previews "a b": not a branch pattern/],
    ["previews 'a..b'", /^previews "a\.\.b": not a branch pattern/],
    ["previews 'x:y'", /^previews "x:y": not a branch pattern/],
  ];
  for (const [line, re] of cases) {
    const r = await evalText(`autodeploy /srv/app\n\n${line}\n`);
    assert.equal(r.orders, null, line);
    assert.equal(r.problems.length, 1, `${line}: ${JSON.stringify(r.problems)}`);
    assert.equal(r.problems[0]?.file, 'web/orders', line);
    assert.equal(r.problems[0]?.line, 3, line);
    assert.match(r.problems[0]?.message ?? '', re, line);
  }
  const twice = await evalText('autodeploy /srv/app\npreviews\npreviews --max 2\n');
  assert.deepEqual(twice.problems.map((p) => [p.line, p.message]), [[3, 'previews given again (first at line 2)']]);
});

test('previews: a registry service has no branches; orders cannot export STARPHLEET_PREVIEW', async () => {
  const reg = await evalText('autodeploy registry:app\npreviews\n');
  assert.equal(reg.orders, null);
  assert.match(reg.problems[0]?.message ?? '', /a registry service has no branches to preview/);
  const set = await evalText('autodeploy /srv/app\nexport STARPHLEET_PREVIEW=main\n');
  assert.equal(set.orders, null);
  assert.match(set.problems[0]?.message ?? '', /STARPHLEET_PREVIEW is set by the ship on preview releases/);
});

test('globs: * and ? stay within a path part, ** crosses them, the rest is literal', () => {
  assert.ok(globRegExp('feature/*').test('feature/a'));
  assert.ok(!globRegExp('feature/*').test('feature/a/b'));
  assert.ok(globRegExp('feature/**').test('feature/a/b'));
  assert.ok(globRegExp('fix-?').test('fix-b'));
  assert.ok(!globRegExp('fix-?').test('fix-bb'));
  assert.ok(!globRegExp('a.b').test('axb'), 'a dot is a dot');
  assert.ok(!globRegExp('a+').test('aa'), 'regex characters are literal');
});

test('which refs a previews order wants: branches by name, other refs only when a pattern starts with refs/', () => {
  const o = (...patterns: string[]): PreviewOrders => ({ patterns, max: 10, ttlSeconds: null, secrets: false });
  const every = o();
  assert.ok(previewWants(every, 'refs/heads/feature/a'));
  assert.ok(!previewWants(every, 'refs/tags/v1'));
  assert.ok(!previewWants(every, 'refs/pull/7/head'));
  assert.ok(!previewWants(every, 'HEAD'));
  assert.ok(!previewWants(every, 'refs/tags/v1^{}'));
  const some = o('feature/*', 'refs/pull/*/head', 'refs/merge-requests/*/head', 'refs/pull-requests/*/from', '!feature/wip*');
  assert.ok(previewWants(some, 'refs/heads/feature/a'));
  assert.ok(!previewWants(some, 'refs/heads/feature/wip-x'), '! leaves out');
  assert.ok(!previewWants(some, 'refs/heads/fix-b'));
  assert.ok(previewWants(some, 'refs/pull/12/head'));
  assert.ok(!previewWants(some, 'refs/pull/12/merge'));
  assert.ok(previewWants(some, 'refs/merge-requests/3/head'));
  assert.ok(previewWants(some, 'refs/pull-requests/9/from'));
  assert.ok(previewWants(o('!dependabot/**'), 'refs/heads/main2'), 'only ! patterns: every other branch');
  assert.ok(!previewWants(o('!dependabot/**'), 'refs/heads/dependabot/npm/x'));
  assert.ok(!previewWants(o('refs/heads/feature/*'), 'refs/heads/fix'));
  assert.ok(previewWants(o('refs/heads/feature/*'), 'refs/heads/feature/x'));
});

test('HQ previews.env and previews.htpasswd are read next to their orders; a bad line fails the file without its text', async () => {
  const hq = tmpDir('sp-pv-hq-');
  writeFiles(hq, {
    'web/orders': 'autodeploy /srv/web\npreviews\n',
    'web/previews.env': '# staging\nDATABASE_URL=postgres://staging\nexport STARPHLEET_MEMORY=256M\nQUOTED="a b"\n',
    'web/previews.htpasswd': 'rev:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n',
    'bad/orders': 'autodeploy /srv/bad\npreviews\n',
    'bad/previews.env': 'GOOD=1\nthis is s3cret-text\n',
    'ship/orders': 'autodeploy /srv/ship\npreviews\n',
    'ship/previews.env': 'STARPHLEET_PREVIEW=x\n',
    'pub/orders': 'autodeploy /srv/pub\npreviews\n',
    'pub/previews.env': 'PUBLISH_PORT=9000\n',
    'lone/previews.env': 'A=1\n',
  });
  symlinkSync('/etc/passwd', join(hq, 'ship', 'previews.htpasswd'));
  const d = await readHeadquarters(hq, { sha: null, evalTimeoutMs: 5000 });
  const env = (m: string) => d.previewEnv?.find((f) => f.mount === m);
  assert.deepEqual(env('/web'), { mount: '/web', file: 'web/previews.env', env: { DATABASE_URL: 'postgres://staging', STARPHLEET_MEMORY: '256M', QUOTED: 'a b' }, problem: null });
  assert.equal(env('/bad')?.problem, 'line 2: expected NAME=value');
  assert.deepEqual(env('/bad')?.env, {}, 'a bad line fails the whole file');
  assert.match(env('/ship')?.problem ?? '', /STARPHLEET_PREVIEW is set by the ship/);
  assert.match(env('/pub')?.problem ?? '', /previews are never published on a port/);
  const problems = d.problems.map((p) => `${p.file}:${p.line ?? ''}: ${p.message}`);
  assert.ok(problems.includes('bad/previews.env:2: expected NAME=value'), problems.join('\n'));
  assert.ok(!problems.join('\n').includes('s3cret'), 'the text of a bad line is not repeated');
  assert.ok(problems.some((p) => p.startsWith('lone/previews.env:: no orders next to this previews.env')));
  assert.deepEqual(d.previewHtpasswd?.find((h) => h.mount === '/web')?.entries.map((e) => e.user), ['rev']);
  // A symlinked previews.htpasswd is not followed: nobody gets in (not: the service's .htpasswd, or nothing).
  assert.deepEqual(d.previewHtpasswd?.find((h) => h.mount === '/ship')?.entries, []);
  assert.ok(problems.some((p) => p.startsWith('ship/previews.htpasswd:: not a plain file')));
  assert.match(hqReport(d), /^ {2}\/web -> \/srv\/web \(previews of every branch, --max 10\)$/m, 'hq check says which services have previews');
});
