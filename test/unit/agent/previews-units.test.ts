import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { DesiredState, Service } from '../../../src/headquarters/types.js';
import type { AgentContext } from '../../../src/agent/context.js';
import { Previews } from '../../../src/agent/previews/previews.js';
import { previewStatus } from '../../../src/agent/previews/status-rows.js';
import { openDb } from '../../../src/state/db.js';
import { expandDesired } from '../../../src/agent/previews/expand.js';
import { commitTimes, fetchRefCommits, listRemoteRefs, parseLsRemote, usableRef } from '../../../src/agent/previews/refs.js';
import { LsRemoteGate } from '../../../src/headquarters/ls-remote-gate.js';
import { selectPreviews, type SelectInput } from '../../../src/agent/previews/select.js';
import { baseSlug, previewMount, previewName, SLUG_MAX, slugsFor } from '../../../src/agent/previews/slug.js';
import { fromAgentEvent } from '../../../src/notify/messages.js';
import type { PreviewRecord } from '../../../src/state/previews.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { tmpDir } from '../../helpers/tmp.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

test('slugs: lowercase, every other character a -, pull requests pr-N / mr-N, long ones cut with a hash', () => {
  assert.equal(baseSlug('refs/heads/feature/a').slug, 'feature-a');
  assert.equal(baseSlug('refs/heads/Fix_B').slug, 'fix-b');
  assert.equal(baseSlug('refs/heads/fix-b').slug, 'fix-b');
  assert.equal(baseSlug('refs/heads/--x--//y..').slug, 'x-y');
  assert.equal(baseSlug('refs/pull/12/head').slug, 'pr-12');
  assert.equal(baseSlug('refs/pull-requests/12/from').slug, 'pr-12');
  assert.equal(baseSlug('refs/merge-requests/3/head').slug, 'mr-3');
  assert.equal(baseSlug('refs/changes/1/x').slug, 'changes-1-x');
  const long = baseSlug(`refs/heads/${'very-long-branch-name/'.repeat(5)}`).slug;
  assert.ok(long.length <= SLUG_MAX, long);
  assert.match(long, /^very-long-branch-name-very-long-[a-z0-9-]*-[0-9a-f]{6}$/);
  assert.match(baseSlug('refs/heads/___').slug, /^[0-9a-f]{6}$/, 'nothing left: the hash alone');
  for (const ref of ['refs/heads/ÄÖÜ', 'refs/heads/a', `refs/heads/${'x'.repeat(300)}`]) assert.match(baseSlug(ref).slug, /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/, ref);
});

test('slugs: on a collision a name that is its slug keeps it, the others get a hash; the same for any order of refs', () => {
  const refs = ['refs/heads/feature/a', 'refs/heads/feature-a', 'refs/heads/Feature/A'];
  const a = slugsFor(refs);
  const b = slugsFor([...refs].reverse());
  assert.deepEqual([...a].sort(), [...b].sort());
  assert.equal(a.get('refs/heads/feature-a'), 'feature-a');
  assert.match(a.get('refs/heads/feature/a') ?? '', /^feature-a-[0-9a-f]{6}$/);
  assert.match(a.get('refs/heads/Feature/A') ?? '', /^feature-a-[0-9a-f]{6}$/);
  assert.notEqual(a.get('refs/heads/feature/a'), a.get('refs/heads/Feature/A'));
  const pr = slugsFor(['refs/heads/pr-7', 'refs/pull/7/head']);
  assert.equal(pr.get('refs/heads/pr-7'), 'pr-7');
  assert.match(pr.get('refs/pull/7/head') ?? '', /^pr-7-[0-9a-f]{6}$/);
  assert.equal(previewMount('/', 'x'), '/--x');
  assert.equal(previewMount('/a/b', 'x'), '/a/b--x');
  assert.equal(previewName('root', 'x'), 'root--x');
});

test('ls-remote output: HEAD names the default branch; peeled tags and names a remote should never send are dropped', () => {
  const sha = (c: string) => c.repeat(40);
  const r = parseLsRemote(
    [
      'ref: refs/heads/main\tHEAD',
      `${sha('a')}\tHEAD`,
      `${sha('a')}\trefs/heads/main`,
      `${sha('b')}\trefs/heads/feature/a`,
      `${sha('c')}\trefs/tags/v1`,
      `${sha('d')}\trefs/tags/v1^{}`,
      `${sha('e')}\trefs/pull/7/head`,
      `${sha('f')}\trefs/heads/x:refs/heads/main`,
      `${sha('f')}\trefs/heads/../../etc`,
      `${sha('f')}\trefs/heads/a b`,
      `${sha('f')}\trefs/heads/\u001b[31mred`,
      `${sha('f')}\trefs/heads/-rf`,
      'zzzz\trefs/heads/bad-sha',
    ].join('\n'),
  );
  assert.equal(r.head, 'refs/heads/main');
  assert.deepEqual([...r.refs.keys()], ['refs/heads/main', 'refs/heads/feature/a', 'refs/tags/v1', 'refs/pull/7/head', 'refs/heads/-rf']);
  assert.ok(!usableRef('refs/heads/a.lock'));
  assert.ok(!usableRef('refs/heads/a@{1}'));
  assert.ok(!usableRef('refs/heads/a/'));
  assert.ok(usableRef('refs/heads/feature/a'));
});

test('a real repo: one ls-remote lists branches and pull refs; their commits are fetched by ref name with their times', async () => {
  const root = tmpDir('sp-pv-refs-');
  const repo = join(root, 'repo');
  initRepo(repo, { 'a.txt': 'main\n' });
  gitIn(repo, 'checkout', '-q', '-b', 'feature/a');
  const a = commit(repo, { 'a.txt': 'feature a\n' });
  gitIn(repo, 'checkout', '-q', '-');
  // A pull request ref as GitHub keeps it: not a branch, so a deploy's fetch of the branches never brings it.
  gitIn(repo, 'checkout', '-q', '--detach');
  const pr = commit(repo, { 'pr.txt': 'pr\n' });
  gitIn(repo, 'update-ref', 'refs/pull/7/head', pr);
  gitIn(repo, 'checkout', '-q', '-');
  const remote = await listRemoteRefs(repo, {});
  assert.equal(remote.head, `refs/heads/${gitIn(repo, 'rev-parse', '--abbrev-ref', 'HEAD')}`);
  assert.equal(remote.refs.get('refs/heads/feature/a'), a);
  assert.equal(remote.refs.get('refs/pull/7/head'), pr);
  const dataDir = join(root, 'data');
  const wanted = new Map([['refs/heads/feature/a', a], ['refs/pull/7/head', pr], ['refs/heads/gone', 'f'.repeat(40)]]);
  const failed = await fetchRefCommits(dataDir, repo, wanted, {});
  assert.equal(failed.length, 1, 'the deleted ref fails alone; the others are fetched one by one');
  assert.match(failed[0] ?? '', /^refs\/heads\/gone: /);
  const times = await commitTimes(dataDir, repo, [a, pr, 'f'.repeat(40)]);
  assert.equal(times.get(a), Number(gitIn(repo, 'show', '-s', '--format=%ct', a)) * 1000);
  assert.ok(times.has(pr));
  assert.ok(!times.has('f'.repeat(40)));
  assert.deepEqual(await fetchRefCommits(dataDir, repo, new Map([['refs/pull/7/head', pr]]), {}), [], 'held already: nothing to fetch');
});

test('previews ls-remote through the gate: an unmoved repo on this machine is listed without git; a new pull ref is seen', async () => {
  const repo = join(tmpDir('sp-pv-gate-'), 'repo');
  initRepo(repo, { 'a.txt': 'main\n' });
  const gate = new LsRemoteGate({ now: () => Date.now() + 10_000 });
  const first = await listRemoteRefs(repo, {}, gate);
  assert.deepEqual(await listRemoteRefs(repo, {}, gate), first);
  assert.deepEqual([gate.runs, gate.skips], [1, 1]);
  gitIn(repo, 'update-ref', 'refs/pull/9/head', gitIn(repo, 'rev-parse', 'HEAD'));
  assert.ok((await listRemoteRefs(repo, {}, gate)).refs.has('refs/pull/9/head'));
  assert.equal(gate.runs, 2);
});

function service(over: Partial<Service['orders']> = {}, name = 'web', mount = '/web'): Service {
  return {
    name,
    mount,
    ordersFile: `${mount.slice(1) || ''}/orders`.replace(/^\//, ''),
    ordersDigest: 'd',
    stale: false,
    orders: { giturl: '/srv/web', env: { A: 'orders', PUBLISH_PORT: '9000' }, unpublished: false, proxyFor: ['web.example.com', '*.wild.example.com'], previews: { patterns: [], max: 10, ttlSeconds: 7 * 86_400, secrets: false }, ...over },
  };
}

function input(over: Partial<SelectInput> = {}): SelectInput {
  return { service: service(), candidates: [], previous: [], firstListing: false, commitAt: new Map(), now: Date.parse('2026-03-01T00:00:00Z'), taken: { names: new Map(), mounts: new Map(), hosts: new Set() }, hold: null, ...over };
}

test('select: names, mounts, hosts; idle past --ttl counted from the commit at the first listing, from when the ref moved after', () => {
  const now = Date.parse('2026-03-01T00:00:00Z');
  const old = 'o'.repeat(40);
  const fresh = 'f'.repeat(40);
  const first = selectPreviews(input({ firstListing: true, candidates: [{ ref: 'refs/heads/old', sha: old }, { ref: 'refs/heads/feature/a', sha: fresh }], commitAt: new Map([[old, now - 30 * DAY], [fresh, now - HOUR]]) }));
  const a = first.find((r) => r.branch === 'feature/a');
  assert.deepEqual({ name: a?.name, mount: a?.mount, slug: a?.slug, hosts: a?.hosts, decision: a?.decision }, { name: 'web--feature-a', mount: '/web--feature-a', slug: 'feature-a', hosts: ['feature-a.web.example.com'], decision: 'wanted' });
  const o = first.find((r) => r.branch === 'old');
  assert.equal(o?.decision, 'idle');
  assert.match(o?.reason ?? '', /^no new commit since 2026-01-30T00:00:00Z \(--ttl 1w\)$/);
  // The same old commit on a branch made after the first listing runs: the ship saw it move now.
  const later = selectPreviews(input({ previous: first, candidates: [{ ref: 'refs/heads/old', sha: old }, { ref: 'refs/heads/copy', sha: old }], commitAt: new Map([[old, now - 30 * DAY]]) }));
  assert.equal(later.find((r) => r.branch === 'copy')?.decision, 'wanted');
  assert.equal(later.find((r) => r.branch === 'old')?.decision, 'idle', 'still idle: same commit');
  // Eight days on without a commit: the fresh one is idle too.
  const idle = selectPreviews(input({ previous: later, candidates: [{ ref: 'refs/heads/copy', sha: old }], now: now + 8 * DAY }));
  assert.equal(idle[0]?.decision, 'idle');
  const off = selectPreviews(input({ service: service({ previews: { patterns: [], max: 10, ttlSeconds: null, secrets: false } }), firstListing: true, candidates: [{ ref: 'refs/heads/old', sha: old }], commitAt: new Map([[old, now - 300 * DAY]]) }));
  assert.equal(off[0]?.decision, 'wanted', '--ttl off');
});

test('select: --max keeps the newest commits, says why the others are skipped; taken names and holds', () => {
  const now = Date.parse('2026-03-01T00:00:00Z');
  const shas = ['1', '2', '3'].map((c) => c.repeat(40));
  const candidates = ['a', 'b', 'c'].map((b, i) => ({ ref: `refs/heads/${b}`, sha: shas[i] as string }));
  const commitAt = new Map(shas.map((s, i) => [s, now - (3 - i) * HOUR]));
  const r = selectPreviews(input({ service: service({ previews: { patterns: [], max: 1, ttlSeconds: null, secrets: false } }), firstListing: true, candidates, commitAt }));
  assert.deepEqual(r.map((x) => [x.branch, x.decision]), [['a', 'skipped'], ['b', 'skipped'], ['c', 'wanted']]);
  assert.equal(r[0]?.reason, '--max 1: 1 preview with newer commits run');
  const taken = selectPreviews(input({ candidates: [candidates[0] as { ref: string; sha: string }], taken: { names: new Map([['web--a', 'web--a/orders']]), mounts: new Map(), hosts: new Set(['a.web.example.com']) } }));
  assert.equal(taken[0]?.decision, 'skipped');
  assert.match(taken[0]?.reason ?? '', /its name web--a \(\/web--a\) is taken by web--a\/orders/);
  assert.deepEqual(taken[0]?.hosts, []);
  const held = selectPreviews(input({ candidates, hold: { decision: 'skipped', reason: 'previews run on the canary ships only (s1)' } }));
  assert.ok(held.every((x) => x.decision === 'skipped' && x.reason === 'previews run on the canary ships only (s1)'));
});

function record(over: Partial<PreviewRecord> = {}): PreviewRecord {
  return { service: 'web', name: 'web--feature-a', mount: '/web--feature-a', ref: 'refs/heads/feature/a', branch: 'feature/a', slug: 'feature-a', sha: 'a'.repeat(40), commitAt: null, since: '2026-03-01T00:00:00.000Z', hosts: ['feature-a.web.example.com'], decision: 'wanted', reason: '', ...over };
}

function hq(over: Partial<DesiredState> = {}): DesiredState {
  const sealed = (file: string, mount: string | null) => ({ file, mount, bytes: Buffer.from('x'), sha256: 'x', recipients: [], problem: null });
  return {
    sha: 'h',
    services: [service()],
    brokenOrders: [],
    admirals: [],
    htpasswd: [{ mount: '/web', file: 'web/.htpasswd', entries: [{ user: 'prod', hash: 'h', line: 1 }] }],
    dataRemotes: [],
    jobs: [],
    env: { PHLEET: 'starphleet', DATABASE_URL: 'prod', STARPHLEET_CANARY_SECONDS: '5' },
    shipscripts: [],
    containers: [],
    secrets: [sealed('secrets.age', null), sealed('web/secrets.age', '/web')],
    previewEnv: [{ mount: '/web', file: 'web/previews.env', env: { DATABASE_URL: 'staging', STARPHLEET_MEMORY: '128M' }, problem: null }],
    problems: [],
    ...over,
  };
}

test('expand: a preview is a service of its own with its env, guard and inputs; no secrets unless --secrets', () => {
  const e = expandDesired(hq(), [record(), record({ name: 'web--x', decision: 'skipped' })], (r) => r.decision === 'wanted');
  const p = e.desired.services.find((s) => s.name === 'web--feature-a');
  assert.ok(p);
  assert.equal(e.desired.services.length, 2);
  assert.equal(p.mount, '/web--feature-a');
  assert.equal(p.orders.ref, 'a'.repeat(40), 'its commit: nothing to resolve');
  assert.deepEqual(p.orders.env, { A: 'orders', STARPHLEET_MEMORY: '128M', STARPHLEET_PREVIEW: 'feature/a' }, 'no PUBLISH_PORT; previews.env settings');
  assert.deepEqual(p.orders.proxyFor, ['feature-a.web.example.com']);
  assert.equal(p.orders.previews, undefined);
  const inputs = e.inputs.get('web--feature-a');
  assert.deepEqual(inputs?.hqEnv, { PHLEET: 'starphleet', DATABASE_URL: 'staging', STARPHLEET_CANARY_SECONDS: '5' }, 'previews.env over .starphleet');
  assert.deepEqual(inputs?.sealed, [], 'no secrets.age at all, the phleet-wide one neither');
  assert.deepEqual(e.desired.htpasswd.find((h) => h.mount === '/web--feature-a')?.entries.map((x) => x.user), ['prod'], "the service's .htpasswd guards it");
  const withSecrets = expandDesired(hq({ services: [service({ previews: { patterns: [], max: 10, ttlSeconds: null, secrets: true } })] }), [record()], () => true);
  assert.deepEqual(withSecrets.inputs.get('web--feature-a')?.sealed.map((f) => [f.file, f.mount]), [['secrets.age', null], ['web/secrets.age', '/web--feature-a']]);
  const own = expandDesired(hq({ previewHtpasswd: [{ mount: '/web', file: 'web/previews.htpasswd', entries: [{ user: 'rev', hash: 'h', line: 1 }] }] }), [record()], () => true);
  assert.deepEqual(own.desired.htpasswd.find((h) => h.mount === '/web--feature-a')?.entries.map((x) => x.user), ['rev'], 'previews.htpasswd wins');
  const none = expandDesired(hq(), [record()], () => false);
  assert.equal(none.desired.services.length, 1);
});

test("a preview's deploy notification names its branch and carries its URL", () => {
  const n = fromAgentEvent('s1', { kind: 'deploy-finished', service: 'web--feature-a', sha: 'a'.repeat(40), result: 'serving', release: 'r1', reason: '', seconds: 3, preview: { service: 'web', branch: 'feature/a', url: 'http://ship:8080/web--feature-a/', hosts: ['feature-a.web.example.com'] } });
  assert.equal(n?.url, 'http://ship:8080/web--feature-a/');
  assert.deepEqual(n?.preview, { service: 'web', branch: 'feature/a', hosts: ['feature-a.web.example.com'] });
  assert.match(n?.text ?? '', /web--feature-a \(preview of feature\/a\): release r1 \(aaaaaaa\) serves at http:\/\/ship:8080\/web--feature-a\/ feature-a\.web\.example\.com/);
  const prod = fromAgentEvent('s1', { kind: 'deploy-finished', service: 'web', sha: 'a'.repeat(40), result: 'serving', release: 'r1', reason: '', seconds: 3 });
  assert.equal(prod?.url, undefined);
});

test('Previews.refresh on a real repo: decides, keeps its decision in the db, holds on a bad previews.env, canary ships only, keeps the last decision when the remote cannot be listed', async () => {
  const root = tmpDir('sp-pv-refresh-');
  const repo = join(root, 'repo');
  initRepo(repo, { VERSION: 'master\n' });
  gitIn(repo, 'checkout', '-q', '-b', 'feature/a');
  commit(repo, { VERSION: 'a\n' });
  gitIn(repo, 'checkout', '-q', 'master');
  const dataDir = join(root, 'data');
  mkdirSync(join(dataDir, 'hq'), { recursive: true });
  const db = openDb(join(dataDir, 'state.db'));
  const logged: string[] = [];
  const ctx = { db, dataDir, shipName: 's2', access: {}, log: (l: string) => logged.push(l), urlFor: (m: string) => `http://ship${m}/` } as unknown as AgentContext;
  try {
    const state = hq({ services: [service({ giturl: repo, ref: undefined })] });
    const p = new Previews(ctx);
    p.hq = state;
    await p.refresh(() => false);
    assert.deepEqual(p.records.map((r) => [r.branch, r.decision]), [['feature/a', 'wanted']], 'master is the deployed (default) branch');
    const desired = p.desiredNow(() => false);
    assert.deepEqual(desired?.services.map((s) => s.name), ['web', 'web--feature-a']);
    assert.deepEqual(p.inputsOf('web--feature-a', desired)?.sealed, []);
    assert.deepEqual(new Previews(ctx).records.map((r) => r.name), ['web--feature-a'], 'kept in the db for the next ship process');
    // A restarted ship adopts the preview's instance before HQ is read: not routed until its guard is known.
    assert.deepEqual(new Previews(ctx).routable([{ name: 'web' }, { name: 'web--feature-a' }], null).map((c) => c.name), ['web']);
    assert.deepEqual(p.routable([{ name: 'web' }, { name: 'web--feature-a' }], desired).map((c) => c.name), ['web', 'web--feature-a']);
    assert.ok(logged.some((l) => l === `web: preview web--feature-a of feature/a at ${gitIn(repo, 'rev-parse', 'feature/a').slice(0, 7)}`), logged.join('\n'));
    // A bad previews.env: held; a running one stays in the desired state but gets no deploy inputs.
    p.hq = hq({ services: [service({ giturl: repo, ref: undefined })], previewEnv: [{ mount: '/web', file: 'web/previews.env', env: {}, problem: 'line 2: expected NAME=value' }] });
    await p.refresh(() => true);
    assert.deepEqual(p.records.map((r) => [r.decision, r.reason]), [['held', 'web/previews.env: line 2: expected NAME=value']]);
    assert.ok(p.desiredNow(() => true)?.services.some((s) => s.name === 'web--feature-a'));
    assert.ok(!p.desiredNow(() => false)?.services.some((s) => s.name === 'web--feature-a'), 'held and not running: not started');
    assert.equal(p.inputsOf('web--feature-a', null), null);
    // A remote that cannot be listed: the last decision stands, the problem is said.
    p.hq = hq({ services: [service({ giturl: join(root, 'gone'), ref: undefined })] });
    await p.refresh(() => true);
    assert.equal(p.records[0]?.decision, 'held');
    assert.deepEqual(previewStatus(db, []).map((r) => r.state), ['held']);
    // HQ names canary ships and this is not one: every preview is skipped, saying why.
    writeFileSync(join(dataDir, 'hq', 'canary'), 's1\n');
    p.hq = state;
    await p.refresh(() => true);
    assert.deepEqual(p.records.map((r) => [r.decision, r.reason]), [['skipped', 'previews run on the canary ships only (s1)']]);
    assert.equal(p.desiredNow(() => true)?.services.length, 1);
    writeFileSync(join(dataDir, 'hq', 'canary'), 's1\ns2\n');
    await p.refresh(() => true);
    assert.equal(p.records[0]?.decision, 'wanted', 'a canary ship runs them');
  } finally {
    db.close();
  }
});
