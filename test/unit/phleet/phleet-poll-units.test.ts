import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { lookupRef, parseLsRemote, RemoteRefs } from '../../../src/agent/refs/remote-refs.js';
import { pacedBuildSide } from '../../../src/agent/refs/paced-build-side.js';
import { pollSettings } from '../../../src/agent/refs/poll-settings.js';
import type { BuildSide } from '../../../src/agent/releases/build-side.js';
import { onlyTransient, retryDelayMs } from '../../../src/phleet/write-pace.js';
import { handoff } from '../../../src/agent/deploy/placement.js';
import { placementProblems } from '../../../src/commands/hq-check-placement.js';
import type { ShipRecord } from '../../../src/phleet/record.js';
import type { DesiredState } from '../../../src/headquarters/types.js';
import { tmpDir } from '../../helpers/tmp.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

describe('service repos: one batched ls-remote per URL, at its own pace', () => {
  function fake(out: Record<string, string>) {
    const calls: string[] = [];
    let fail: Error | null = null;
    let release: (() => void) | null = null;
    return {
      calls,
      failWith(e: Error | null) {
        fail = e;
      },
      hold() {
        return new Promise<void>((r) => (release = r));
      },
      lsRemote: async (url: string) => {
        calls.push(url);
        await new Promise((r) => setImmediate(r));
        if (fail) throw fail;
        return out[url] ?? '';
      },
      release: () => release?.(),
    };
  }
  const listing = `${A}\tHEAD\n${A}\trefs/heads/main\n${B}\trefs/heads/v2\n${C}\trefs/tags/v1\n${B}\trefs/tags/v1^{}\n`;

  test('many services on one URL at once: one poll; not due: no poll; due again after its pace', async () => {
    let now = 1_000_000;
    const f = fake({ '/srv/app': listing });
    const refs = new RemoteRefs({ access: {}, settings: { pollMs: 5000, webhookPollMs: 120_000, rate: 100 }, lsRemote: f.lsRemote, now: () => now, random: () => 0.5 });
    const snaps = await Promise.all(Array.from({ length: 50 }, () => refs.refs('/srv/app')));
    assert.equal(f.calls.length, 1, 'fifty asks, one ls-remote');
    assert.equal(lookupRef(snaps[0]?.refs ?? new Map(), 'v2'), B);
    now += 4999;
    await refs.refs('/srv/app');
    assert.equal(f.calls.length, 1, 'within its pace: answered from the last poll');
    assert.equal(refs.due('/srv/app'), false);
    now += 2;
    assert.equal(refs.due('/srv/app'), true);
    await refs.refs('/srv/app');
    assert.equal(f.calls.length, 2);
  });

  test('the rate over all repos stretches each repo\'s pace (cost follows the bound, not the repos)', async () => {
    let now = 0;
    const out = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`/srv/r${i}`, listing]));
    const f = fake(out);
    const refs = new RemoteRefs({ access: {}, settings: { pollMs: 5000, webhookPollMs: 120_000, rate: 1 }, lsRemote: f.lsRemote, now: () => now, random: () => 0.5 });
    for (let t = 0; t < 120; t += 5) {
      now = t * 1000;
      await Promise.all(Object.keys(out).map((u) => refs.refs(u)));
    }
    // 20 repos at 1 poll/s: each every ~20 s (not every 5), so ~120 polls in 120 s plus the first round.
    assert.ok(f.calls.length <= 20 + 120 + 5, `${f.calls.length} polls in 120 s`);
    assert.ok(f.calls.length >= 100, `${f.calls.length} polls: every repo is still polled`);
  });

  test('a webhook push: polled at the next ask, then at the webhook pace', async () => {
    let now = 0;
    const f = fake({ '/srv/u': listing });
    const refs = new RemoteRefs({ access: {}, settings: { pollMs: 5000, webhookPollMs: 60_000, rate: 100 }, lsRemote: f.lsRemote, now: () => now, random: () => 0.5 });
    await refs.refs('/srv/u');
    refs.pushed('/srv/u');
    await refs.refs('/srv/u');
    assert.equal(f.calls.length, 2, 'the push polls at once');
    now = 30_000;
    await refs.refs('/srv/u');
    assert.equal(f.calls.length, 2, 'then at the webhook pace: not after 30 s');
    now = 61_000;
    await refs.refs('/srv/u');
    assert.equal(f.calls.length, 3);
    refs.expire('/srv/u');
    await refs.refs('/srv/u');
    assert.equal(f.calls.length, 4, 'expire (a redeploy) polls at the next ask');
  });

  test('a failed poll: its error until the backoff runs out, no poll meanwhile', async () => {
    let now = 0;
    const f = fake({ '/srv/u': listing });
    const refs = new RemoteRefs({ access: {}, settings: { pollMs: 5000, webhookPollMs: 60_000, rate: 100 }, lsRemote: f.lsRemote, now: () => now, random: () => 0.5 });
    f.failWith(new Error('git ls-remote failed: Connection refused'));
    await assert.rejects(refs.refs('/srv/u'), /Connection refused/);
    now = 1000;
    await assert.rejects(refs.refs('/srv/u'), /Connection refused/);
    assert.equal(f.calls.length, 1);
    f.failWith(null);
    now = 60_000;
    assert.equal(lookupRef((await refs.refs('/srv/u')).refs, undefined), A);
    assert.equal(f.calls.length, 2);
  });

  test('lookupRef and parseLsRemote: the same names source.ts resolveRef finds', () => {
    const refs = parseLsRemote(`${listing}junk\n`);
    assert.equal(lookupRef(refs, undefined), A);
    assert.equal(lookupRef(refs, 'main'), A);
    assert.equal(lookupRef(refs, 'v1'), B, 'an annotated tag, peeled');
    assert.equal(lookupRef(refs, 'refs/heads/v2'), B);
    assert.equal(lookupRef(refs, 'nope'), null);
  });

  test('the paced build side forks nothing for a name the snapshot holds, remembers shas, and asks the real lookup once per snapshot', async () => {
    let now = 0;
    const f = fake({ '/srv/u': listing });
    const refs = new RemoteRefs({ access: {}, settings: { pollMs: 5000, webhookPollMs: 60_000, rate: 100 }, lsRemote: f.lsRemote, now: () => now, random: () => 0.5 });
    const asked: string[] = [];
    const base = {
      resolveRef: async (_u: string, ref: string | undefined) => {
        asked.push(ref ?? 'HEAD');
        if (ref === 'abcd') return C;
        if (ref === A) return A;
        throw new Error(`no ${ref}`);
      },
    } as unknown as BuildSide;
    const side = pacedBuildSide(base, refs);
    for (let i = 0; i < 5; i++) {
      assert.equal(await side.resolveRef('/srv/u', 'v2', {}, '/d'), B);
      assert.equal(await side.resolveRef('/srv/u', A, {}, '/d'), A);
      assert.equal(await side.resolveRef('/srv/u', 'abcd', {}, '/d'), C);
      await assert.rejects(side.resolveRef('/srv/u', 'gone', {}, '/d'), /\/srv\/u#gone: no branch or tag of that name/);
      await assert.rejects(side.resolveRef('/srv/u', 'refs/pull/1/head', {}, '/d'), /no refs\/pull\/1\/head/);
    }
    assert.equal(f.calls.length, 1);
    assert.deepEqual(asked, [A, 'abcd', 'refs/pull/1/head'], 'each real lookup once: shas for good, the rest until the next poll');
    now = 10_000;
    await assert.rejects(side.resolveRef('/srv/u', 'refs/pull/1/head', {}, '/d'));
    assert.equal(asked.length, 4, 'asked again after a new poll');
  });

  test('poll settings from HQ .starphleet over the ship env; bad values say so and use the default', () => {
    assert.deepEqual(pollSettings(5, {}, {}).settings, { pollMs: 5000, webhookPollMs: 120_000, rate: 1 });
    assert.deepEqual(pollSettings(5, { STARPHLEET_SERVICE_POLL: '30' }, { STARPHLEET_SERVICE_POLL: '10', STARPHLEET_SERVICE_POLL_RATE: '4' }).settings, { pollMs: 30_000, webhookPollMs: 120_000, rate: 4 });
    const bad = pollSettings(5, { STARPHLEET_SERVICE_POLL: 'soon' }, {});
    assert.equal(bad.settings.pollMs, 5000);
    assert.match(bad.problems[0] ?? '', /STARPHLEET_SERVICE_POLL must be a positive number of seconds, got "soon": 5 used/);
  });
});

describe('write-back retries and hand-off', () => {
  test('retryDelayMs: full jitter under a doubling bound, at least the contention window, at most 15 s', () => {
    assert.equal(retryDelayMs(1, () => 0), 0);
    assert.equal(retryDelayMs(1, () => 0.999), 199);
    assert.equal(retryDelayMs(3, () => 0.999), 799);
    assert.equal(retryDelayMs(50, () => 0.999), 14_985);
    assert.equal(retryDelayMs(1, () => 0.5, 20 * 800), 7500, 'twenty ships at 0.8 s a write: spread over 15 s from the first retry');
    assert.equal(retryDelayMs(7, () => 0.5, 1000), 6400, 'the doubling wins when it is larger');
  });

  test('onlyTransient: a service entering building/starting waits; anything else is written at once', () => {
    const at = (services: Record<string, string>, hq: string | null = null): ShipRecord => ({ ...entry('s1', services), hq });
    const serving = at({ web: 'serving' });
    assert.equal(onlyTransient(null, serving), false, 'the first write never waits');
    assert.equal(onlyTransient(serving, at({ web: 'building' })), true);
    assert.equal(onlyTransient(serving, at({ web: 'starting', api: 'building' })), true, 'a new service building');
    assert.equal(onlyTransient(serving, at({ web: 'building' }, B)), true, 'the HQ sha that started the deploy waits with it');
    assert.equal(onlyTransient(serving, at({ web: 'serving' }, B)), false, 'an HQ sha alone is written at once');
    assert.equal(onlyTransient(serving, at({ web: 'failed' })), false);
    assert.equal(onlyTransient(serving, at({})), false, 'a service gone');
    assert.equal(onlyTransient(serving, serving), false, 'no change at all');
  });

  function entry(name: string, services: Record<string, string>, tags?: string[]): ShipRecord {
    return { name, addresses: ['127.0.0.1'], sshPort: 1, httpPort: 2, hostKeys: [], clientKey: 'k', ...(tags ? { tags } : {}), version: '1', hq: null, services: Object.fromEntries(Object.entries(services).map(([n, state]) => [n, { sha: A, release: 'r', state, since: '2020-01-01T00:00:00Z' }])) };
  }
  function state(on: string[] | undefined, tags?: Record<string, string[]>): DesiredState {
    return { sha: null, services: [{ mount: '/web', name: 'web', ordersFile: 'web/orders', orders: { giturl: 'u', env: {}, unpublished: false, proxyFor: [], ...(on ? { on } : {}) }, ordersDigest: 'd', stale: false }], brokenOrders: [], admirals: [], htpasswd: [], dataRemotes: [], jobs: [], env: {}, shipscripts: [], containers: [], problems: [], ...(tags ? { tags } : {}) };
  }

  test('a moved service serves here until a ship it moved to serves it, bounded; at once when no ship can take it', () => {
    const data = tmpDir('sp-handoff-');
    mkdirSync(join(data, 'hq', 'ships'), { recursive: true });
    const write = (r: ShipRecord) => writeFileSync(join(data, 'hq', 'ships', r.name), JSON.stringify(r));
    write(entry('s1', { web: 'serving' }, ['web']));
    write(entry('s2', {}, ['api']));
    const d = state(['api']);
    const service = d.services[0];
    assert.ok(service);
    const wait = handoff({ dataDir: data, ship: 's1', service, desired: d, since: 0, now: 10_000 });
    assert.equal(wait.stop, false);
    assert.match(wait.why, /moving to s2 \(on api\): serving here until one of them serves it \(10 of at most 300 s\)/);
    assert.equal(handoff({ dataDir: data, ship: 's1', service, desired: d, since: 0, now: 300_000 }).stop, true, 'bounded');
    write(entry('s2', { web: 'starting' }, ['api']));
    assert.equal(handoff({ dataDir: data, ship: 's1', service, desired: d, since: 0, now: 20_000 }).stop, false);
    write(entry('s2', { web: 'serving' }, ['api']));
    assert.match(handoff({ dataDir: data, ship: 's1', service, desired: d, since: 0, now: 20_000 }).why, /moved to s2 \(on api\), which serve it: draining and stopping here/);
    const nowhere = state(['nobody']);
    assert.ok(nowhere.services[0]);
    // Nobody to take it: stopped once that held for NOBODY_CONFIRM_MS (a read racing the HQ sync's rewrite of ships/ is
    // not enough), and never past the hand-off time.
    const first = handoff({ dataDir: data, ship: 's1', service: nowhere.services[0], desired: nowhere, since: 0, now: 0, nobodySince: null });
    assert.deepEqual([first.stop, first.nobody], [false, true]);
    assert.equal(handoff({ dataDir: data, ship: 's1', service: nowhere.services[0], desired: nowhere, since: 0, now: 2999, nobodySince: 0 }).stop, false);
    assert.equal(handoff({ dataDir: data, ship: 's1', service: nowhere.services[0], desired: nowhere, since: 0, now: 3000, nobodySince: 0 }).stop, true);
    // An entry that cannot be read (half-written) is no reason to stop either.
    write(entry('s2', { web: 'starting' }, ['api']));
    writeFileSync(join(data, 'hq', 'ships', 's9'), '{"name": "s9", ');
    const unsure = handoff({ dataDir: data, ship: 's1', service, desired: d, since: 0, now: 20_000 });
    assert.deepEqual([unsure.stop, unsure.nobody], [false, true]);
    // HQ tags place it too.
    const byHq = state(['db'], { s2: ['db'] });
    assert.ok(byHq.services[0]);
    assert.match(handoff({ dataDir: data, ship: 's1', service: byHq.services[0], desired: byHq, since: 0, now: 0 }).why, /moving to s2 \(on db\)/);
  });

  test('hq check: an on word that names no ship and no tag is a problem on the orders file', () => {
    const d = state(['web', 'typo']);
    assert.deepEqual(placementProblems(d, [], 'HQ'), [], 'a phleet with no entries yet: nothing to match');
    const p = placementProblems(d, [entry('s1', {}, ['web'])], 'HQ');
    assert.deepEqual(p, [{ file: 'web/orders', message: 'on typo: no ship in ships/ (HQ) is named or tagged so' }]);
    const none = placementProblems(state(['typo']), [entry('s1', {}, ['web'])], 'HQ');
    assert.match(none[0]?.message ?? '', /the service runs on no ship/);
    assert.deepEqual(placementProblems(state(['db']), [entry('s1', {})], 'HQ').length, 1);
    assert.deepEqual(placementProblems(state(['db']), [entry('s1', {})].slice(0, 0), 'HQ'), []);
    assert.deepEqual(placementProblems(state(['db'], { s9: ['db'] }), [], 'HQ'), [], 'HQ tags name it');
  });
});
