import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { evaluateOrders } from '../../../src/headquarters/orders.js';
import { parseTagsFile, placedOn, placementFrom, tagsOf } from '../../../src/headquarters/placement.js';
import { readHeadquarters } from '../../../src/headquarters/layout.js';
import { serviceChanges } from '../../../src/headquarters/merge.js';
import { describeContact, failureKind, HqContact, nextCheckDelayMs } from '../../../src/headquarters/contact.js';
import { pickRef } from '../../../src/headquarters/sync.js';
import type { DesiredState } from '../../../src/headquarters/types.js';
import { tmpDir } from '../../helpers/tmp.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

async function ordersOf(text: string) {
  const dir = tmpDir('sp-on-');
  writeFileSync(join(dir, 'orders'), text);
  return evaluateOrders(join(dir, 'orders'), 'web/orders', dir, 5000);
}

describe('the on verb', () => {
  test('names and tags, several lines adding up, sorted and unique', async () => {
    const r = await ordersOf('autodeploy https://example.com/app.git\non web eu-1\non db web\n');
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.orders?.on, ['db', 'eu-1', 'web']);
    const none = await ordersOf('autodeploy https://example.com/app.git\n');
    assert.equal(none.orders?.on, undefined, 'no on: every ship');
  });

  test('on with no word, or a word that is no ship name or tag, is a problem on its line and nothing applies', async () => {
    const r = await ordersOf('autodeploy x\non\non "web;id" ../x "" -web\n');
    assert.equal(r.orders, null);
    assert.deepEqual(r.problems.map((p) => p.line), [2, 3, 3, 3, 3]);
    assert.match(r.problems[0]?.message ?? '', /on needs at least one ship name or tag/);
    assert.match(r.problems[1]?.message ?? '', /on: "web;id" is not a ship name or tag/);
  });

  test('placementFrom is the same rule as the orders file applies', () => {
    const problems: { file: string; line?: number; message: string }[] = [];
    assert.deepEqual(placementFrom([{ verb: 'on', line: 4, args: ['a', 'a', 'b.c'] }], 'x/orders', problems), ['a', 'b.c']);
    assert.deepEqual(problems, []);
  });

  test('placedOn: by name or by tag; no on means every ship', () => {
    assert.equal(placedOn(undefined, 's1', new Set()), true);
    assert.equal(placedOn(['web'], 's1', new Set(['web', 'eu'])), true);
    assert.equal(placedOn(['s1'], 's1', new Set()), true);
    assert.equal(placedOn(['web'], 's2', new Set(['db'])), false);
  });

  test('tagsOf: own tags and HQ tags; words from an entry outside the grammar, and prototype names, give nothing', () => {
    assert.deepEqual([...tagsOf('s1', ['web'], { s1: ['eu'], s2: ['db'] })].sort(), ['eu', 'web']);
    assert.deepEqual([...tagsOf('s1', ['web\n', '../x', 42, 'ok'], undefined)], ['ok']);
    assert.deepEqual([...tagsOf('constructor', [], {})], []);
    assert.deepEqual([...tagsOf('toString', undefined, { s1: ['x'] })], []);
  });

  test('HQ tags: <ship> <tag>... per line, comments, a ship on two lines, bad words named by line', () => {
    const t = parseTagsFile('# the phleet\ns1 web eu   # first\n\ns2 db\ns1 edge\ns3\nbad/name web\ns4 ok b@d\n');
    assert.deepEqual(t.tags, { s1: ['edge', 'eu', 'web'], s2: ['db'], s4: ['ok'] });
    assert.deepEqual(t.problems.map((p) => [p.file, p.line]), [['tags', 6], ['tags', 7], ['tags', 8]]);
    assert.match(t.problems[0]?.message ?? '', /s3: no tag/);
  });

  test('moving a service (only its on changes) keeps its deploy identity: nothing redeploys where it stays', async () => {
    const dir = tmpDir('sp-hq-on-');
    mkdirSync(join(dir, 'web'));
    mkdirSync(join(dir, 'api'));
    writeFileSync(join(dir, 'web', 'orders'), 'autodeploy /srv/web\non web\n');
    writeFileSync(join(dir, 'api', 'orders'), 'autodeploy /srv/api\n');
    writeFileSync(join(dir, 'tags'), 's1 web\n');
    const first = await readHeadquarters(dir, { sha: null, evalTimeoutMs: 5000 });
    assert.deepEqual(first.tags, { s1: ['web'] });
    writeFileSync(join(dir, 'web', 'orders'), '# moved\nautodeploy /srv/web\non api web\n');
    const second = await readHeadquarters(dir, { sha: null, evalTimeoutMs: 5000 });
    const digest = (s: DesiredState, n: string) => s.services.find((x) => x.name === n)?.ordersDigest;
    assert.equal(digest(first, 'web'), digest(second, 'web'));
    assert.deepEqual(serviceChanges(first, second), { added: [], changed: [], removed: [], placed: ['web'] });
    writeFileSync(join(dir, 'web', 'orders'), 'autodeploy /srv/web\non api web\nexport X=1\n');
    const third = await readHeadquarters(dir, { sha: null, evalTimeoutMs: 5000 });
    assert.notEqual(digest(third, 'web'), digest(second, 'web'), 'an env change is a change');
    assert.deepEqual(serviceChanges(second, third).changed, ['web']);
  });
});

describe('HQ contact: jittered pulse, backoff with a cap', () => {
  const pace = { pulseMs: 5000, maxBackoffMs: 120_000 };
  test('a good check waits the pulse ±20%', () => {
    assert.equal(nextCheckDelayMs({ ...pace, random: () => 0 }, 0), 4000);
    assert.equal(nextCheckDelayMs({ ...pace, random: () => 1 }, 0), 6000);
  });

  test('failures double the wait from twice the pulse, up to the cap, half of it random', () => {
    const lo = (n: number) => nextCheckDelayMs({ ...pace, random: () => 0 }, n);
    const hi = (n: number) => nextCheckDelayMs({ ...pace, random: () => 1 }, n);
    assert.deepEqual([1, 2, 3, 4].map(hi), [10_000, 20_000, 40_000, 80_000]);
    assert.deepEqual([1, 2, 3].map(lo), [5000, 10_000, 20_000]);
    assert.equal(hi(5), 120_000);
    assert.equal(hi(500), 120_000, 'capped, however many');
    assert.equal(lo(500), 60_000);
    assert.equal(nextCheckDelayMs({ pulseMs: 5000, maxBackoffMs: 1000, random: () => 1 }, 3), 5000, 'never a cap below the pulse');
  });

  test('the record: failing since the first failure, the last contact kept, back to the pulse when HQ answers', () => {
    const c = new HqContact({ ...pace, random: () => 1 });
    c.answered(1_000_000);
    assert.equal(c.state.lastContact, new Date(1_000_000).toISOString());
    assert.equal(c.failed('git ls-remote failed: fatal: unable to access: The requested URL returned error: 503', 1_010_000), 10_000);
    assert.equal(c.failed('timed out after 30 s', 1_030_000), 20_000);
    assert.equal(c.state.failingSince, new Date(1_010_000).toISOString());
    assert.equal(c.state.failures, 2);
    assert.equal(c.state.kind, 'timed out');
    assert.equal(c.state.lastContact, new Date(1_000_000).toISOString());
    assert.match(describeContact(c.state, 1_040_000), /^CANNOT REACH HQ since .* \(2 tries, timed out: timed out after 30 s\); serving what it has; last contact .* \(40 s ago\); next try in 10 s$/);
    c.checking(1_045_000);
    assert.match(describeContact(c.state, 1_060_000), /; trying again for 15 s$/);
    c.answered(1_050_000);
    assert.equal(c.state.failingSince, null);
    c.checking(1_060_000);
    assert.equal(describeContact(c.state, 1_065_000), `last contact ${new Date(1_050_000).toISOString()} (15 s ago)`);
    assert.equal(describeContact(c.state, 1_072_000), `no answer from HQ for 12 s (a check is waiting); last contact ${new Date(1_050_000).toISOString()} (22 s ago)`);
    assert.equal(c.state.failures, 0);
  });

  test('failure kinds from git\'s words', () => {
    assert.equal(failureKind('fatal: unable to access \'https://h/hq.git/\': The requested URL returned error: 429'), 'refused');
    assert.equal(failureKind('The requested URL returned error: 502'), 'server error');
    assert.equal(failureKind('git ls-remote failed: timed out after 30 s'), 'timed out');
    assert.equal(failureKind('fatal: unable to connect to 10.1.2.3: Connection refused'), 'unreachable');
    assert.equal(failureKind('ssh: Could not resolve host: nowhere'), 'unreachable');
    assert.equal(failureKind('fatal: Authentication failed'), 'failed');
  });

  test('pickRef: git\'s order of names, peeled tags, HEAD', () => {
    const out = `${A}\tHEAD\n${B}\trefs/heads/prod\n${C}\trefs/tags/prod\n${A}\trefs/tags/prod^{}\n${B}\trefs/heads/main\n`;
    assert.equal(pickRef(out, 'HEAD'), A);
    assert.equal(pickRef(out, 'prod'), A, 'a tag wins over a branch of the same name, as git fetch reads it; peeled');
    assert.equal(pickRef(out, 'main'), B);
    assert.equal(pickRef(out, 'none'), null);
    assert.equal(pickRef('garbage\nline\t\n', 'HEAD'), null);
  });
});
