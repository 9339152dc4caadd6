import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, test } from 'node:test';
import { previewWants } from '../../../src/headquarters/previews-orders.js';
import { readPullRequest } from '../../../src/webhook/pull-request.js';
import { eventOf } from '../../../src/webhook/signature.js';
import { Webhook } from '../../../src/webhook/webhook.js';
import { githubPush, gitlabPush, send, type Delivery } from '../../helpers/webhooks.js';

const SECRET = 'pr-secret';
const repo = { host: 'github.com', full: 'acme/web' };
const sign = (body: Buffer): string => `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;

/** A pull request event as GitHub (or Gitea, which sends GitHub's shape and header names too) sends it. */
function githubPull(number: number, action = 'synchronize'): Delivery {
  const body = Buffer.from(
    JSON.stringify({
      action,
      number,
      pull_request: { number, state: 'open', head: { ref: 'feature/x', sha: 'c'.repeat(40), repo: { full_name: 'someone/fork' } }, base: { ref: 'master' } },
      repository: { full_name: repo.full, clone_url: `https://${repo.host}/${repo.full}.git`, html_url: `https://${repo.host}/${repo.full}` },
    }),
  );
  return { headers: [['Content-Type', 'application/json'], ['X-GitHub-Event', 'pull_request'], ['X-GitHub-Delivery', randomUUID()], ['X-Hub-Signature-256', sign(body)]], body };
}

function gitlabMerge(iid: number, r = repo): Delivery {
  const body = Buffer.from(
    JSON.stringify({
      object_kind: 'merge_request',
      event_type: 'merge_request',
      project: { path_with_namespace: r.full, git_http_url: `https://${r.host}/${r.full}.git`, web_url: `https://${r.host}/${r.full}` },
      object_attributes: { iid, id: 99, action: 'update', source_branch: 'feature/x', target_branch: 'master' },
    }),
  );
  return { headers: [['Content-Type', 'application/json'], ['X-Gitlab-Event', 'Merge Request Hook'], ['X-Gitlab-Event-UUID', randomUUID()], ['X-Gitlab-Token', SECRET]], body };
}

let server: Server;
let port = 0;
const checks: string[] = [];
let services: { name: string; giturl: string; ref?: string; previews?: (ref: string) => boolean }[] = [];

before(async () => {
  const hook = new Webhook({
    secret: () => SECRET,
    headquarters: () => ({ url: 'https://git.example.org/ops/hq.git', ref: undefined }),
    services: () => services,
    checkHeadquarters: () => checks.push('hq'),
    checkServices: () => checks.push('services'),
    refused: () => undefined,
    log: () => undefined,
  });
  server = createServer((req, res) => void hook.handle(req, res, '127.0.0.1'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as { port: number }).port;
});

after(() => new Promise<void>((r) => server.close(() => r())));

const orders = (...patterns: string[]) => ({ patterns, max: 10, ttlSeconds: null, secrets: false });

test('pull request payloads become the refs each forge publishes', () => {
  assert.deepEqual(readPullRequest(JSON.parse(githubPull(7).body.toString()))?.refs, ['refs/pull/7/head']);
  assert.deepEqual(readPullRequest(JSON.parse(gitlabMerge(3).body.toString()))?.refs, ['refs/merge-requests/3/head']);
  const cloud = { pullrequest: { id: 5, source: { branch: { name: 'feature/y' } } }, repository: { full_name: 'a/b', links: { html: { href: 'https://bitbucket.org/a/b' } } } };
  assert.deepEqual(readPullRequest(cloud)?.refs, ['refs/heads/feature/y']);
  assert.deepEqual(readPullRequest(cloud)?.urls, ['https://bitbucket.org/a/b']);
  const dc = { pullRequest: { id: 9, fromRef: { id: 'refs/heads/feature/z' }, toRef: { repository: { slug: 'b', links: { clone: [{ href: 'ssh://git@bb.example.org:7999/a/b.git', name: 'ssh' }] } } } } };
  assert.deepEqual(readPullRequest(dc)?.refs, ['refs/pull-requests/9/from', 'refs/heads/feature/z']);
  assert.deepEqual(readPullRequest(dc)?.urls, ['ssh://git@bb.example.org:7999/a/b.git'], "the target repository's, not the fork's");
  // Hostile: no number, a number that is not one, a branch with a space, no repository.
  assert.equal(readPullRequest({ pull_request: {}, repository: { clone_url: 'x' } }), null);
  assert.equal(readPullRequest({ number: '7; rm -rf', pull_request: { number: -1 }, repository: { clone_url: 'x' } }), null);
  assert.equal(readPullRequest({ pullrequest: { source: { branch: { name: 'a b' } } }, repository: { full_name: 'a/b', links: { html: { href: 'h' } } } }), null);
  assert.equal(readPullRequest({ number: 7, pull_request: { number: 7 } }), null);
  for (const [h, kind] of [[{ 'x-github-event': 'pull_request' }, 'pull'], [{ 'x-github-event': 'pull_request_review' }, 'other'], [{ 'x-github-event': 'push' }, 'push']] as const) {
    assert.equal(eventOf(h, 'github').kind, kind);
  }
  assert.equal(eventOf({ 'x-gitlab-event': 'Merge Request Hook' }, 'gitlab').kind, 'pull');
  assert.equal(eventOf({ 'x-event-key': 'pullrequest:updated' }, 'bitbucket').kind, 'pull');
  assert.equal(eventOf({ 'x-event-key': 'pr:from_ref_updated' }, 'bitbucket').kind, 'pull');
  assert.equal(eventOf({ 'x-gitea-event': 'pull_request' }, 'gitea').kind, 'pull');
});

test('a push of a branch previews name checks at once; one they do not name, or a pull request without PR patterns, does not', async () => {
  const giturl = `https://${repo.host}/${repo.full}.git`;
  services = [
    { name: 'web', giturl, ref: 'master', previews: (r) => previewWants(orders(), r) },
    { name: 'pulls', giturl, ref: 'master', previews: (r) => previewWants(orders('refs/pull/*/head', 'refs/merge-requests/*/head'), r) },
    { name: 'plain', giturl, ref: 'master' },
  ];
  checks.length = 0;
  const branch = await send(port, '/starphleet/webhook', githubPush(SECRET, repo, { ref: 'refs/heads/feature/x' }));
  assert.equal(branch.status, 202, branch.text);
  assert.deepEqual(branch.json().triggered, ['web previews']);
  assert.deepEqual(checks, ['services']);
  const master = await send(port, '/starphleet/webhook', githubPush(SECRET, repo, { ref: 'refs/heads/master' }));
  assert.deepEqual(master.json().triggered, ['web', 'pulls', 'plain'], 'the deployed branch: the services themselves');
  const pr = await send(port, '/starphleet/webhook', githubPull(7));
  assert.equal(pr.status, 202, pr.text);
  assert.deepEqual(pr.json().triggered, ['pulls previews']);
  assert.deepEqual(pr.json().refs, ['refs/pull/7/head']);
  const mr = await send(port, '/starphleet/webhook', gitlabMerge(4));
  assert.deepEqual(mr.json().triggered, ['pulls previews']);
  services = [{ name: 'plain', giturl, ref: 'master' }];
  checks.length = 0;
  const none = await send(port, '/starphleet/webhook', githubPull(8));
  assert.equal(none.status, 200, none.text);
  assert.deepEqual(none.json().triggered, []);
  assert.deepEqual(checks, [], 'a pull request checks nothing a service follows');
  // A merge request of the HQ repo does not start an HQ check (it moves no branch HQ follows); a push does.
  const hqPull = await send(port, '/starphleet/webhook', gitlabMerge(2, { host: 'git.example.org', full: 'ops/hq' }));
  assert.deepEqual(hqPull.json().triggered, []);
  const hqPush = await send(port, '/starphleet/webhook', gitlabPush(SECRET, { host: 'git.example.org', full: 'ops/hq' }));
  assert.deepEqual(hqPush.json().triggered, ['headquarters']);
  assert.deepEqual(checks, ['hq']);
  const bad = githubPull(9);
  const forged: Delivery = { headers: bad.headers.map(([n, v]) => [n, n === 'X-Hub-Signature-256' ? sign(Buffer.from('other')) : v]), body: bad.body };
  assert.equal((await send(port, '/starphleet/webhook', forged)).status, 401, 'a pull request event is signed like a push');
});
