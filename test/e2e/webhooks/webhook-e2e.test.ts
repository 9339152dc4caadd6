import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import Database from 'better-sqlite3';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { cli, httpGet, statusServices } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { bitbucketPush, giteaPush, githubPush, gitlabPush, send, withHeader, type Delivery } from '../../helpers/webhooks.js';

/**
 * POST /starphleet/webhook on a real ship with a 300 s pulse: pushes signed as GitHub, GitLab, Gitea, Forgejo and
 * Bitbucket send them start the check at once. The repos have the URLs a forge gives them (git's `insteadOf` maps
 * them to local repos), so the payloads are exactly what those forges send.
 */
const SECRET = 'webhook secret: 7f3c9a1e5b';
const root = tmpDir('sp-webhook-');
const appRepo = join(root, 'app');
const hqRepo = join(root, 'hq');
const dataDir = join(root, 'data');
const APP = { host: 'github.com', full: 'acme/app' };
const HQ = { host: 'git.example.org', full: 'ops/hq' };
let ship: ShipProcess;
let port = 0;

function appSha(): Promise<string | null> {
  return statusServices(dataDir).then((s) => s.find((x) => x.name === 'app' && x.state === 'serving')?.sha ?? null);
}

function audit(): { user: string; remote: string; command: string; message: string }[] {
  const db = new Database(join(dataDir, 'state.db'), { readonly: true });
  try {
    return db.prepare("SELECT user, remote, command, message FROM audit WHERE kind = 'deny' AND user = 'webhook' ORDER BY id").all() as { user: string; remote: string; command: string; message: string }[];
  } finally {
    db.close();
  }
}

const hook = (d: Delivery, method = 'POST') => send(port, '/starphleet/webhook', d, method);

before(async () => {
  fixtureRepo('procfile-app', appRepo);
  initRepo(hqRepo, { 'app/orders': `autodeploy https://${APP.host}/${APP.full}.git\n`, '.starphleet': `export STARPHLEET_WEBHOOK_SECRET='${SECRET}'\n` });
  // The forges' URLs lead to the local repos, for the ship's git as for anyone's.
  const env = {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: `url.${appRepo}.insteadOf`,
    GIT_CONFIG_VALUE_0: `https://${APP.host}/${APP.full}.git`,
    GIT_CONFIG_KEY_1: `url.${hqRepo}.insteadOf`,
    GIT_CONFIG_VALUE_1: `https://${HQ.host}/${HQ.full}.git`,
    STARPHLEET_RUNTIME: 'process',
  };
  ship = await startShip({ headquarters: `https://${HQ.host}/${HQ.full}.git`, dataDir, pulse: 300, env });
  port = ship.httpPort;
  await waitFor(async () => (await httpGet(port, '/app/')).status === 200, 'the app serving', 180_000, 500);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

test('a signed GitHub push deploys the new sha at once (pulse 300 s); its redelivery is ignored', async () => {
  const sha = commit(appRepo, { 'NEWS': 'webhook deploy\n' }, 'news');
  const t0 = Date.now();
  const r = await hook(githubPush(SECRET, APP, { after: sha, delivery: 'd6f0c9a2-1111-4e5e-8a8a-000000000001' }));
  assert.equal(r.status, 202, r.text);
  assert.deepEqual(r.json().triggered, ['app']);
  assert.equal(r.json().provider, 'github');
  await waitFor(async () => (await appSha()) === sha, 'the pushed sha serving', 120_000, 250);
  const seconds = (Date.now() - t0) / 1000;
  console.log(`webhook push -> serving: ${seconds.toFixed(1)} s (pulse 300 s)`);
  assert.ok(seconds < 300, 'deployed before any pulse could have');
  // The deploy says what started it: the delivery, in the history that releases and the dashboard show.
  const rel = await cli(dataDir, 'releases', 'app', '--json');
  const mine = (JSON.parse(rel.stdout) as { releases: { sha: string; state: string; deployedBy: string }[] }).releases.find((x) => x.sha === sha);
  assert.equal(mine?.state, 'serving');
  assert.match(mine?.deployedBy ?? '', /; webhook github delivery d6f0c9a2-1111-4e5e-8a8a-000000000001$/);
  const again = await hook(githubPush(SECRET, APP, { after: sha, delivery: 'd6f0c9a2-1111-4e5e-8a8a-000000000001' }));
  assert.equal(again.status, 200, again.text);
  assert.match(String(again.json().ignored), /seen before/);
  assert.deepEqual(again.json().triggered, []);
});

test('GitLab, Gitea, Forgejo and Bitbucket pushes of the HQ repo start an HQ check; the GitLab one brings a new HQ commit in', async () => {
  const before = gitIn(hqRepo, 'rev-parse', 'HEAD');
  const next = commit(hqRepo, { README: 'the phleet\n' }, 'readme');
  assert.notEqual(before, next);
  const gl = await hook(gitlabPush(SECRET, HQ));
  assert.equal(gl.status, 202, gl.text);
  assert.deepEqual(gl.json().triggered, ['headquarters']);
  await ship.waitForLog(new RegExp(`hq ${before.slice(0, 7)} -> ${next.slice(0, 7)}`), 60_000);
  for (const [provider, d] of [
    ['gitea', giteaPush(SECRET, HQ)],
    ['forgejo', giteaPush(SECRET, HQ, { forgejo: true })],
    ['bitbucket', bitbucketPush(SECRET, { host: 'bitbucket.org', full: HQ.full })],
  ] as const) {
    const r = await hook(d);
    if (provider === 'bitbucket') {
      // Bitbucket names its own host: the HQ is not there, so nothing is triggered (and it says so).
      assert.equal(r.status, 200, r.text);
      assert.deepEqual(r.json().triggered, []);
      continue;
    }
    assert.equal(r.status, 202, `${provider}: ${r.text}`);
    assert.equal(r.json().provider, provider);
    assert.deepEqual(r.json().triggered, ['headquarters']);
  }
  const bb = await hook(bitbucketPush(SECRET, { host: 'git.example.org', full: HQ.full }));
  assert.equal(bb.status, 202, bb.text);
  assert.equal(bb.json().provider, 'bitbucket');
  assert.deepEqual(bb.json().triggered, ['headquarters']);
});

test('hostile deliveries: bad or missing signatures are 401 and audited; huge bodies 413; wrong method 405', async () => {
  const auditedBefore = audit().length;
  const good = githubPush(SECRET, APP);
  const cases: [string, Delivery, number][] = [
    ['wrong secret', githubPush('not the secret', APP), 401],
    ['signature over a different body', { headers: good.headers, body: Buffer.from(good.body.toString().replace('acme', 'evil')) }, 401],
    ['no signature', { headers: good.headers.filter(([n]) => !/signature/i.test(n)), body: good.body }, 401],
    ['only the SHA-1 signature', { headers: good.headers.filter(([n]) => n !== 'X-Hub-Signature-256'), body: good.body }, 401],
    ['signature header twice', { headers: [...good.headers, ['X-Hub-Signature-256', 'sha256=00']], body: good.body }, 401],
    ['truncated signature', withHeader(good, 'X-Hub-Signature-256', (good.headers.find(([n]) => n === 'X-Hub-Signature-256')?.[1] ?? '').slice(0, 40)), 401],
    ['wrong GitLab token', gitlabPush(`${SECRET}x`, HQ), 401],
    ['Gitea signature of another secret', giteaPush('other', HQ), 401],
    ['Bitbucket sha1 signature', withHeader(bitbucketPush(SECRET, HQ), 'X-Hub-Signature', 'sha1=0123456789abcdef0123456789abcdef01234567'), 401],
  ];
  for (const [what, d, want] of cases) {
    const r = await hook(d);
    assert.equal(r.status, want, `${what}: ${r.status} ${r.text}`);
    assert.doesNotMatch(r.text, new RegExp(SECRET), `${what}: the secret is never echoed`);
  }
  const rows = audit().slice(auditedBefore);
  assert.equal(rows.length, 9, JSON.stringify(rows));
  assert.ok(rows.every((r) => r.remote === '127.0.0.1' && r.command === 'POST /starphleet/webhook'), JSON.stringify(rows));
  assert.ok(rows.every((r) => !r.message.includes(SECRET)), 'the audit never holds the secret');
  assert.doesNotMatch(ship.output(), new RegExp(SECRET), 'the ship log never holds the secret');

  // 3 MiB (over the 2 MiB limit), refused by its Content-Length before it is read, and streamed without one.
  const huge = githubPush(SECRET, APP);
  const big = { headers: huge.headers, body: Buffer.alloc(3 * 1024 * 1024, 'x') };
  assert.equal((await hook(big)).status, 413);
  const chunked = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/starphleet/webhook', method: 'POST', headers: Object.fromEntries(huge.headers), agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'ECONNRESET' || e.code === 'EPIPE' ? resolve(-1) : reject(e)));
    const chunk = Buffer.alloc(256 * 1024, 'y');
    let sent = 0;
    const more = (): void => {
      while (sent < 12) {
        sent++;
        if (!req.write(chunk)) return void req.once('drain', more);
      }
      req.end();
    };
    more();
  });
  assert.ok(chunked === 413 || chunked === -1, `a 3 MiB chunked body: ${chunked}`);
  for (const method of ['GET', 'PUT', 'DELETE']) assert.equal((await hook(good, method)).status, 405, method);
  const garbage = Buffer.from('{not json');
  const signed = (v: string, n: string): string => (n === 'X-Hub-Signature-256' ? `sha256=${createHmac('sha256', SECRET).update(garbage).digest('hex')}` : n === 'X-GitHub-Delivery' ? 'not-json-1' : v);
  const notJson = await hook({ headers: good.headers.map(([n, v]) => [n, signed(v, n)] as const), body: garbage });
  assert.equal(notJson.status, 400, notJson.text);
  const ping = await hook(withHeader(withHeader(good, 'X-GitHub-Event', 'ping'), 'X-GitHub-Delivery', 'ping-1'));
  assert.equal(ping.status, 200, ping.text);
  const other = await hook(withHeader(withHeader(good, 'X-GitHub-Event', 'issues'), 'X-GitHub-Delivery', 'issues-1'));
  assert.equal(other.status, 200, other.text);
  assert.match(String(other.json().ignored), /not a push/);
  const stranger = await hook(githubPush(SECRET, { host: 'github.com', full: 'someone/else' }));
  assert.equal(stranger.status, 200, stranger.text);
  assert.deepEqual(stranger.json().triggered, []);
  const branch = await hook(githubPush(SECRET, APP, { ref: 'refs/heads/feature' }));
  assert.equal(branch.status, 202, 'the service follows the default branch: any branch push is worth a check');
});

test('no secret in HQ: 404 that says how to turn webhooks on; the ship down: 503 while the app is served', async () => {
  const before = gitIn(hqRepo, 'rev-parse', 'HEAD');
  const next = commit(hqRepo, { '.starphleet': 'export GREETING=hi\n' }, 'no webhook secret');
  const r = await hook(gitlabPush(SECRET, HQ));
  assert.equal(r.status, 202, r.text);
  await ship.waitForLog(new RegExp(`hq ${before.slice(0, 7)} -> ${next.slice(0, 7)}`), 60_000);
  await waitFor(async () => (await hook(githubPush(SECRET, APP))).status === 404, 'webhooks off', 30_000, 250);
  const off = await hook(githubPush(SECRET, APP));
  assert.match(off.text, /STARPHLEET_WEBHOOK_SECRET/);

  await ship.kill();
  const down = await hook(githubPush(SECRET, APP));
  assert.equal(down.status, 503, down.text);
  assert.match(down.text, /the ship is not running/);
  assert.equal((await httpGet(port, '/starphleet/dashboard')).status, 404, 'the dashboard is not on the front door');
  const app = await httpGet(port, '/app/still');
  assert.equal(app.status, 200, 'the data plane serves on without the ship');
  assert.match(app.body, /procfile-app fixture says hello from \/still/);
});
