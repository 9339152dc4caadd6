import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SeenDeliveries } from '../../../src/webhook/deliveries.js';
import { readPush, refConcerns, repoKey } from '../../../src/webhook/push.js';
import { deliveryId, eventOf, verifySignature } from '../../../src/webhook/signature.js';
import { bitbucketPush, giteaPush, githubPush, gitlabPush, type Delivery } from '../../helpers/webhooks.js';

const headersOf = (d: Delivery): Record<string, string> => Object.fromEntries(d.headers.map(([n, v]) => [n.toLowerCase(), v]));

test("GitHub's documented example signature verifies; one changed byte or secret does not", () => {
  // docs.github.com "Validating webhook deliveries": secret "It's a Secret to Everybody", payload "Hello, World!".
  const sig = 'sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17';
  const body = Buffer.from('Hello, World!');
  assert.deepEqual(verifySignature({ 'x-hub-signature-256': sig }, body, "It's a Secret to Everybody"), { ok: true, provider: 'github' });
  assert.equal(verifySignature({ 'x-hub-signature-256': sig }, Buffer.from('Hello, World?'), "It's a Secret to Everybody").ok, false);
  assert.equal(verifySignature({ 'x-hub-signature-256': sig }, body, "It's a secret to everybody").ok, false);
  assert.equal(verifySignature({ 'x-hub-signature-256': sig.toUpperCase().replace('SHA256=', 'sha256=') }, body, "It's a Secret to Everybody").ok, true, 'hex case does not matter');
  assert.equal(verifySignature({ 'x-hub-signature-256': 'sha256=zz' }, body, 's').ok, false);
  assert.equal(verifySignature({ 'x-hub-signature-256': sig.replace('sha256=', 'sha1=') }, body, "It's a Secret to Everybody").ok, false);
});

test('each provider is told by its signature header and verified; delivery ids and events are read from its headers', () => {
  const s = 'unit-secret';
  const repo = { host: 'example.org', full: 'a/b' };
  const cases: [Delivery, string, string][] = [
    [githubPush(s, repo, { delivery: 'g-1' }), 'github', 'g-1'],
    [gitlabPush(s, repo, { delivery: 'l-1' }), 'gitlab', 'l-1'],
    [giteaPush(s, repo, { delivery: 't-1' }), 'gitea', 't-1'],
    [giteaPush(s, repo, { forgejo: true, delivery: 'f-1' }), 'forgejo', 'f-1'],
    [bitbucketPush(s, repo, { delivery: 'b-1' }), 'bitbucket', 'b-1'],
  ];
  for (const [d, provider, id] of cases) {
    const h = headersOf(d);
    const v = verifySignature(h, d.body, s);
    assert.deepEqual(v, { ok: true, provider }, provider);
    if (!v.ok) continue;
    assert.equal(deliveryId(h, v.provider), id, provider);
    assert.equal(eventOf(h, v.provider).kind, 'push', provider);
    assert.equal(verifySignature(h, d.body, `${s}!`).ok, false, `${provider}: another secret`);
    assert.equal(verifySignature(h, Buffer.concat([d.body, Buffer.from(' ')]), s).ok, provider === 'gitlab', `${provider}: another body (GitLab signs nothing)`);
  }
  assert.match(String((verifySignature({}, Buffer.from('x'), s) as { reason: string }).reason), /no signature/);
  assert.equal(verifySignature({ 'x-hub-signature-256': ['a', 'b'] } as unknown as Record<string, string>, Buffer.from('x'), s).ok, false);
});

test('push payloads of every provider name the repository in forms that reduce to one key', () => {
  const repo = { host: 'git.example.org', full: 'Ops/HQ' };
  for (const d of [githubPush('s', repo), gitlabPush('s', repo), giteaPush('s', repo), bitbucketPush('s', repo)]) {
    const p = readPush(JSON.parse(d.body.toString()));
    assert.ok(p, 'a push');
    assert.ok(p.urls.map(repoKey).includes('git.example.org/ops/hq'), JSON.stringify(p.urls));
    assert.deepEqual(p.refs, ['refs/heads/master']);
  }
  const server = readPush({ repository: { links: { clone: [{ href: 'ssh://git@bb.example:7999/proj/repo.git', name: 'ssh' }, { href: 'https://bb.example/scm/proj/repo.git', name: 'http' }] } }, changes: [{ ref: { id: 'refs/heads/main' } }] });
  assert.deepEqual(server?.urls.map(repoKey), ['bb.example/proj/repo', 'bb.example/proj/repo']);
  assert.deepEqual(server?.refs, ['refs/heads/main']);
  assert.equal(readPush({ nothing: true }), null);
  assert.equal(readPush('x'), null);
  assert.equal(readPush(null), null);
});

test('repository URL forms: https, scp-like ssh, ssh://, credentials, .git and slashes, local paths', () => {
  for (const u of ['https://github.com/acme/app.git', 'https://github.com/acme/app', 'git@github.com:acme/app.git', 'ssh://git@github.com/acme/app', 'ssh://git@github.com:22/acme/app.git/', 'https://user:token@GitHub.com/Acme/App.git']) {
    assert.equal(repoKey(u), 'github.com/acme/app', u);
  }
  assert.equal(repoKey('/srv/git/app.git'), '/srv/git/app');
  assert.equal(repoKey('file:///srv/git/app'), '/srv/git/app');
  assert.notEqual(repoKey('https://github.com/acme/app2'), repoKey('https://github.com/acme/app'));
  assert.equal(repoKey(''), null);
  assert.equal(repoKey('https://[bad'), null);
});

test('which refs concern a follower: its branch or tag, any push when it follows the default branch, never a pinned sha', () => {
  assert.equal(refConcerns(['refs/heads/main'], 'main'), true);
  assert.equal(refConcerns(['refs/tags/v1'], 'v1'), true);
  assert.equal(refConcerns(['refs/heads/feature'], 'main'), false);
  assert.equal(refConcerns(['refs/heads/feature'], undefined), true);
  assert.equal(refConcerns([], 'main'), true);
  assert.equal(refConcerns(['refs/heads/main'], '0123456789abcdef0123456789abcdef01234567'), false);
});

test('seen deliveries: a repeat is recognised, memory stays bounded (oldest forgotten first)', () => {
  const seen = new SeenDeliveries(3);
  assert.equal(seen.check('a'), false);
  assert.equal(seen.check('a'), true);
  for (const id of ['b', 'c', 'd']) seen.check(id);
  assert.equal(seen.size, 3);
  assert.equal(seen.check('a'), false, 'a was the oldest: forgotten');
  for (let i = 0; i < 10_000; i++) seen.check(`x${i}`);
  assert.equal(seen.size, 3);
});
