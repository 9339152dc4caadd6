import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import Database from 'better-sqlite3';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { continuousLoad } from '../../helpers/load.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { cli, statusJson } from '../../helpers/phleet.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { runSsh } from '../../helpers/ssh.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { githubPush, send } from '../../helpers/webhooks.js';
import { dashboardLogin } from '../../helpers/dashboard.js';

/**
 * Preview releases end to end (docs/previews.md) on a real ship running the bwrap sandbox: a service repo with
 * branches, an HQ with `previews`, real pushes. The repos have the URLs a forge gives them (git's insteadOf maps them
 * to local bare repos), so signed webhook deliveries are exactly a forge's.
 */
const SECRET = 'previews webhook secret 41d2';
const PULSE = 4;
const root = tmpDir('sp-previews-');
const appBare = join(root, 'app.git');
const appWork = join(root, 'app-work');
const dataDir = join(root, 'data');
const APP = { host: 'github.com', full: 'acme/web' };
const HQ = { host: 'git.example.org', full: 'ops/hq' };
const HOSTNAME = 'web.example.test';
let alice: TestKey;
let hq: PushableHq;
let ship: ShipProcess;
let sink: Server;
const notified: Record<string, unknown>[] = [];
const gitEnv: Record<string, string> = {};

interface Served {
  readonly version: string;
  /** Random per process start: which instance answered. */
  readonly boot: string;
  readonly env: Record<string, string | null>;
  readonly data: string[] | string;
}

function get(path: string, o: { host?: string; auth?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (o.host) headers.host = o.host;
    if (o.auth) headers.authorization = `Basic ${Buffer.from(o.auth).toString('base64')}`;
    const req = request({ host: '127.0.0.1', port: ship.httpPort, path, headers, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function served(path: string, o: { host?: string; auth?: string } = {}): Promise<Served | null> {
  const r = await get(path, o).catch(() => null);
  return r?.status === 200 ? (JSON.parse(r.body) as Served) : null;
}

/** Commits VERSION on a branch of the app and pushes it, as a developer would; returns the sha. */
function pushVersion(branch: string, version: string): string {
  gitIn(appWork, 'checkout', '-q', '-B', branch, `origin/${branch}`);
  const sha = commit(appWork, { VERSION: `${version}\n` }, version);
  gitIn(appWork, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
  return sha;
}

function newBranch(branch: string, version: string): string {
  gitIn(appWork, 'checkout', '-q', '-B', branch, 'origin/master');
  const sha = commit(appWork, { VERSION: `${version}\n` }, version);
  gitIn(appWork, 'push', '-q', 'origin', `HEAD:refs/heads/${branch}`);
  gitIn(appWork, 'fetch', '-q', 'origin');
  return sha;
}

/** The memory limit (bytes) of the cgroup a service's serving instance runs in, v1 or v2. */
function memoryLimit(service: string): number {
  const db = new Database(join(dataDir, 'state.db'), { readonly: true });
  let pid: number;
  try {
    pid = (db.prepare("SELECT pid FROM instances WHERE service = ? AND state = 'serving'").get(service) as { pid: number }).pid;
  } finally {
    db.close();
  }
  const lines = readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n');
  const v1 = lines.find((l) => /^\d+:([^:]*,)?memory(,[^:]*)?:/.test(l));
  if (v1) return Number(readFileSync(join('/sys/fs/cgroup/memory', v1.split(':')[2] as string, 'memory.limit_in_bytes'), 'utf8'));
  const v2 = lines.find((l) => l.startsWith('0::')) as string;
  return Number(readFileSync(join('/sys/fs/cgroup', v2.slice(3), 'memory.max'), 'utf8'));
}

function sha1Htpasswd(user: string, password: string): string {
  return `${user}:{SHA}${createHash('sha1').update(password).digest('base64')}\n`;
}

async function previews(): Promise<{ branch: string; state: string; message: string; url: string | null; name: string }[]> {
  return (await statusJson<{ previews: { branch: string; state: string; message: string; url: string | null; name: string }[] }>(dataDir)).previews;
}

const hqHook = () => send(ship.httpPort, '/starphleet/webhook', githubPush(SECRET, HQ, { after: gitIn(hq.bare, 'rev-parse', 'master') }));

async function start(pulse: number, ports?: { ssh: number; http: number }): Promise<ShipProcess> {
  return startShip({
    headquarters: `https://${HQ.host}/${HQ.full}.git`,
    dataDir,
    pulse,
    args: ['--name', 's1'],
    env: gitEnv,
    ...(ports ? { sshPort: ports.ssh, httpPort: ports.http } : {}),
  });
}

before(async () => {
  alice = makeKey(tmpDir('sp-pv-keys-'), 'alice');
  const seed = join(root, 'app-seed');
  fixtureRepo('preview-app', seed);
  commit(seed, { VERSION: 'master\n' }, 'master');
  gitIn(root, 'clone', '-q', '--bare', seed, appBare);
  gitIn(root, 'clone', '-q', appBare, appWork);
  newBranch('feature/a', 'a1');
  newBranch('fix-b', 'b1');
  // The ship's host key made before its first start (it keeps it): HQ seals the production secret to it.
  mkdirSync(join(dataDir, 'host_keys'), { recursive: true, mode: 0o700 });
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 's1', '-f', join(dataDir, 'host_keys', 'ssh_host_ed25519_key')]);
  const sealed = join(root, 'secrets.age');
  execFileSync('age', ['-R', join(dataDir, 'host_keys', 'ssh_host_ed25519_key.pub'), '-o', sealed], { input: 'DB_PASSWORD=prod-secret\n' });
  hq = new PushableHq(root, {
    'authorized_keys/alice.pub': `${alice.pub}\n`,
    '.starphleet': `export STARPHLEET_WEBHOOK_SECRET='${SECRET}'\nexport PHLEET=from-starphleet\n`,
    'web/orders': `autodeploy https://${APP.host}/${APP.full}.git#master\nexport FROM_ORDERS=orders\nexport DATABASE_URL=prod-db\nproxy_for ${HOSTNAME}\npreviews\n`,
    'web/previews.env': '# staging for every preview\nDATABASE_URL=staging-db\nexport STARPHLEET_MEMORY=300M\n',
  });
  writeFileSync(join(hq.work, 'web', 'secrets.age'), execFileSync('cat', [sealed]));
  hq.commit({}, 'production secrets');
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      notified.push(JSON.parse(body) as Record<string, unknown>);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  Object.assign(gitEnv, {
    GIT_CONFIG_COUNT: '2',
    GIT_CONFIG_KEY_0: `url.${appBare}.insteadOf`,
    GIT_CONFIG_VALUE_0: `https://${APP.host}/${APP.full}.git`,
    GIT_CONFIG_KEY_1: `url.${hq.bare}.insteadOf`,
    GIT_CONFIG_VALUE_1: `https://${HQ.host}/${HQ.full}.git`,
    STARPHLEET_NOTIFY: `http://127.0.0.1:${(sink.address() as { port: number }).port}/events`,
  });
  ship = await start(PULSE);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
  await new Promise((r) => sink?.close(r));
});

describe('preview releases for every branch, from git alone', { timeout: 1_500_000 }, () => {
  test('branches feature/a and fix-b get two preview URLs serving their commits, with previews.env, without the production secret, on data of their own', async (t) => {
    const t0 = Date.now();
    const prod = await waitFor(() => served('/web/'), 'production serving', 300_000, 500);
    assert.equal(prod.version, 'master');
    const a = await waitFor(() => served('/web--feature-a/'), () => `the feature/a preview\n${ship.output().slice(-2000)}`, 300_000, 500);
    const b = await waitFor(() => served('/web--fix-b/'), 'the fix-b preview', 300_000, 500);
    t.diagnostic(`both previews serving ${((Date.now() - t0) / 1000).toFixed(1)} s after the ship started (pulse ${PULSE} s)`);
    assert.equal(a.version, 'a1');
    assert.equal(b.version, 'b1');
    assert.match(ship.output(), /instances run with the bwrap runtime/);
    assert.equal((await served('/', { host: `feature-a.${HOSTNAME}` }))?.version, 'a1', '<slug>.<proxy_for name>');
    assert.equal((await served('/', { host: `fix-b.${HOSTNAME}` }))?.version, 'b1');
    assert.equal((await served('/', { host: HOSTNAME }))?.version, 'master');
    assert.deepEqual(a.env, { STARPHLEET_PREVIEW: 'feature/a', DATABASE_URL: 'staging-db', DB_PASSWORD: null, FROM_ORDERS: 'orders', PHLEET: 'from-starphleet', STARPHLEET_MEMORY: '300M' });
    assert.deepEqual(prod.env, { STARPHLEET_PREVIEW: null, DATABASE_URL: 'prod-db', DB_PASSWORD: 'prod-secret', FROM_ORDERS: 'orders', PHLEET: 'from-starphleet', STARPHLEET_MEMORY: null });
    // Data: production's /var/data and the preview's (each on its service's own volume) never see each other's files.
    assert.equal((await get('/web/write?name=prod-file')).status, 200);
    assert.equal((await get('/web--feature-a/write?name=preview-file')).status, 200);
    assert.deepEqual((await served('/web--feature-a/'))?.data, ['preview-file']);
    assert.ok(Array.isArray((await served('/web/'))?.data) && !(await served('/web/'))?.data.includes('preview-file'));
    assert.deepEqual((await served('/web--fix-b/'))?.data, []);
    assert.ok(existsSync(join(dataDir, 'volumes', 'web--feature-a', 'data', 'preview-file')));
    assert.ok(existsSync(join(dataDir, 'volumes', 'web', 'data', 'prod-file')));
    // Limits per preview: its own cgroup, with previews.env's STARPHLEET_MEMORY (production has none set).
    assert.equal(memoryLimit('web--feature-a'), 300 * 1024 * 1024);
    assert.equal(memoryLimit('web--fix-b'), 300 * 1024 * 1024);
    assert.ok(memoryLimit('web') > 300 * 1024 * 1024);
  });

  test('visible: starphleet previews (CLI and ssh admiral@ship), status, releases, SFTP /services/<name>--<slug>/, notifications', async () => {
    const list = await cli(dataDir, 'previews');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^SERVICE +BRANCH +COMMIT +STATE +AGE +URL$/m);
    assert.match(list.stdout, /^web +feature\/a +[0-9a-f]{7} +serving +\d+[smhd] +http:\/\/127\.0\.0\.1:\d+\/web--feature-a\/ http:\/\/feature-a\.web\.example\.test:\d+\/$/m);
    assert.match(list.stdout, /^web +fix-b +[0-9a-f]{7} +serving /m);
    const json = JSON.parse((await cli(dataDir, 'previews', 'web', '--json')).stdout) as { branch: string; sha: string }[];
    assert.deepEqual(json.map((p) => p.branch), ['feature/a', 'fix-b']);
    assert.equal(json[0]?.sha, gitIn(appBare, 'rev-parse', 'feature/a'));
    assert.equal((await cli(dataDir, 'previews', 'nope')).code, 1);
    const ssh = await runSsh({ key: alice.privatePath, port: ship.sshPort, args: ['starphleet', 'previews', 'web'] });
    assert.equal(ssh.code, 0, ssh.stderr);
    assert.match(ssh.stdout.toString(), /^web +feature\/a +[0-9a-f]{7} +serving /m);
    const status = await cli(dataDir, 'status');
    assert.match(status.stdout, /^previews:\n {2}web feature\/a {2}serving/m);
    assert.doesNotMatch(status.stdout.split('previews:')[0] ?? '', /web--feature-a/, 'the services table is production only');
    const releases = await cli(dataDir, 'releases', 'web');
    assert.match(releases.stdout, /previews \(each a service of its own: starphleet releases <name>\):\n {2}web--feature-a {2}feature\/a {2}[0-9a-f]{7} {2}serving/);
    const own = await cli(dataDir, 'releases', 'web--feature-a');
    assert.match(own.stdout, /^web--feature-a: the preview of web for feature\/a$/m);
    const sftp = await sftpBatch({ key: alice.privatePath, port: ship.sshPort, lines: ['ls /services', 'ls /services/web--feature-a/current'] });
    assert.equal(sftp.code, 0, sftp.stderr);
    assert.match(sftp.stdout, /web--feature-a/);
    assert.match(sftp.stdout, /web--fix-b/);
    assert.match(sftp.stdout, /VERSION/);
    // The dashboard, logged in with a one-time link as an admiral gets it.
    const link = (await runSsh({ key: alice.privatePath, port: ship.sshPort, args: ['starphleet', 'dashboard'] })).stdout.toString().trim();
    const page = await (await dashboardLogin(link)).overview();
    assert.match(page, /<section id="previews"><h2>Previews<\/h2>/);
    assert.match(page, /<tr data-preview="web--feature-a"><td>web<\/td><td>feature\/a<\/td><td><code>[0-9a-f]{7}<\/code><\/td><td><span class="state ok">healthy<\/span>/);
    assert.match(page, /<a href="http:\/\/127\.0\.0\.1:\d+\/web--fix-b\/">/);
    const n = await waitFor(() => notified.find((x) => x.event === 'deploy.succeeded' && x.service === 'web--feature-a'), 'the notification of the preview', 30_000, 200);
    assert.match(String(n.url), /^http:\/\/127\.0\.0\.1:\d+\/web--feature-a\/$/);
    assert.deepEqual(n.preview, { service: 'web', branch: 'feature/a', hosts: [`feature-a.${HOSTNAME}`] });
    assert.match(String(n.text), /web--feature-a \(preview of feature\/a\): release .* serves at http/);
  });

  test('a new commit on feature/a replaces its preview under load with no failed request', async (t) => {
    const before = await served('/web--feature-a/');
    const load = await continuousLoad(ship.httpPort, '/web--feature-a/', '/web--feature-a/ws');
    let seen: Awaited<ReturnType<typeof load.stop>>;
    try {
      await sleep(1000);
      pushVersion('feature/a', 'a2');
      await waitFor(async () => (await served('/web--feature-a/'))?.version === 'a2', 'the new commit serving', 300_000, 250);
      await sleep(1500);
    } finally {
      seen = await load.stop();
    }
    t.diagnostic(`${seen.ok} requests across the switch (${seen.retried} retried on a fresh connection), ${seen.wsEchoes} WebSocket echoes`);
    assert.deepEqual(seen.failures, [], `${seen.ok} requests ok`);
    assert.ok(seen.ok > 50, `only ${seen.ok} requests went through`);
    const now = await served('/web--feature-a/');
    assert.notEqual(now?.boot, before?.boot, 'a new instance');
    assert.deepEqual(now?.data, ['preview-file'], "the preview's data stays across its own redeploys");
  });

  test('deleting fix-b stops its preview and frees its release and data within two pulses', async (t) => {
    assert.ok(existsSync(join(dataDir, 'services', 'web--fix-b')));
    assert.equal((await get('/web--fix-b/write?name=b-file')).status, 200);
    // A hostile preview leaves links to the host's /etc and to production's data, and a dir closed to everyone.
    assert.equal((await get(`/web--fix-b/traps?to=${encodeURIComponent(join(dataDir, 'volumes', 'web', 'data'))}`)).status, 200);
    const t0 = Date.now();
    gitIn(appWork, 'push', '-q', 'origin', '--delete', 'fix-b');
    await waitFor(async () => (await get('/web--fix-b/')).status === 404, 'the fix-b route gone', 60_000, 100);
    const routeGone = (Date.now() - t0) / 1000;
    await waitFor(() => !existsSync(join(dataDir, 'services', 'web--fix-b')) && !existsSync(join(dataDir, 'volumes', 'web--fix-b')) && !existsSync(join(dataDir, 'volumes', 'web--fix-b.img')), 'its release and data removed', 60_000, 100);
    const freed = (Date.now() - t0) / 1000;
    t.diagnostic(`fix-b deleted: route gone after ${routeGone.toFixed(1)} s, release and data freed after ${freed.toFixed(1)} s (pulse ${PULSE} s)`);
    assert.ok(freed <= 2 * PULSE + 2, `freed after ${freed.toFixed(1)} s, more than two pulses`);
    assert.ok(existsSync(join(dataDir, 'volumes', 'web', 'data', 'prod-file')) && existsSync('/etc/hostname'), 'removing its volume followed no link');
    const rel = await cli(dataDir, 'releases', 'web--fix-b');
    assert.equal(rel.code, 1);
    assert.deepEqual((await previews()).map((p) => p.branch), ['feature/a']);
    assert.equal((await served('/web--feature-a/'))?.version, 'a2', 'the other preview is untouched');
  });

  test('a restarted ship keeps its previews (adopted, not rebuilt); with a 300 s pulse a signed webhook push of a new branch starts its preview at once', async (t) => {
    const boot = (await served('/web--feature-a/'))?.boot;
    const ports = { ssh: ship.sshPort, http: ship.httpPort };
    await ship.stop();
    ship = await start(300, ports);
    await ship.waitForLog(/web--feature-a: adopted instance/, 120_000);
    await waitFor(async () => (await served('/web--feature-a/'))?.boot === boot, 'the same preview instance serving', 60_000, 250);
    assert.doesNotMatch(ship.output(), /web--feature-a: order removed/);
    const sha = newBranch('feature/hook', 'hook1');
    const t0 = Date.now();
    const r = await send(ship.httpPort, '/starphleet/webhook', githubPush(SECRET, APP, { ref: 'refs/heads/feature/hook', after: sha }));
    assert.equal(r.status, 202, r.text);
    assert.deepEqual(r.json().triggered, ['web previews']);
    await waitFor(async () => (await served('/web--feature-hook/'))?.version === 'hook1', 'the webhook preview serving', 240_000, 250);
    const seconds = (Date.now() - t0) / 1000;
    t.diagnostic(`signed push -> preview serving: ${seconds.toFixed(1)} s (pulse 300 s)`);
    assert.ok(seconds < 300);
  });

  test('--max 1 keeps the newest commit and reports the other as skipped', async () => {
    hq.commit({ 'web/orders': `autodeploy https://${APP.host}/${APP.full}.git#master\nexport FROM_ORDERS=orders\nexport DATABASE_URL=prod-db\nproxy_for ${HOSTNAME}\npreviews --max 1\n` }, 'previews --max 1');
    assert.equal((await hqHook()).status, 202);
    await waitFor(async () => (await get('/web--feature-a/')).status === 404, 'the older preview stopped', 120_000, 250);
    const list = await previews();
    assert.deepEqual(list.map((p) => [p.branch, p.state]), [['feature/a', 'skipped'], ['feature/hook', list[1]?.state ?? '']]);
    assert.match(list[0]?.message ?? '', /^--max 1: 1 preview with newer commits run$/);
    const text = await cli(dataDir, 'previews', 'web');
    assert.match(text.stdout, /^web feature\/a: --max 1: 1 preview with newer commits run$/m);
    await waitFor(async () => (await served('/web--feature-hook/'))?.version === 'hook1', 'the newest still serving', 240_000, 250);
    await waitFor(() => !existsSync(join(dataDir, 'volumes', 'web--feature-a')) && !existsSync(join(dataDir, 'volumes', 'web--feature-a.img')), "the skipped preview's data freed", 60_000, 250);
  });

  test(".htpasswd guards the preview URL, previews.htpasswd instead when HQ has one; bad orders are errors with file, line and flag", async () => {
    hq.commit({ 'web/.htpasswd': sha1Htpasswd('alice', 'prod-pw') }, 'web .htpasswd');
    assert.equal((await hqHook()).status, 202);
    await waitFor(async () => (await get('/web--feature-hook/')).status === 401, 'the preview asking for a password', 60_000, 250);
    assert.equal((await get('/', { host: `feature-hook.${HOSTNAME}` })).status, 401);
    assert.equal((await served('/web--feature-hook/', { auth: 'alice:prod-pw' }))?.version, 'hook1');
    assert.equal((await get('/web--feature-hook/', { auth: 'alice:wrong' })).status, 401);
    hq.commit({ 'web/previews.htpasswd': sha1Htpasswd('reviewer', 'review-pw') }, 'previews.htpasswd');
    assert.equal((await hqHook()).status, 202);
    await waitFor(async () => (await get('/web--feature-hook/', { auth: 'reviewer:review-pw' })).status === 200, 'previews.htpasswd in force', 60_000, 250);
    assert.equal((await get('/web--feature-hook/', { auth: 'alice:prod-pw' })).status, 401);
    assert.equal((await get('/web/', { auth: 'alice:prod-pw' })).status, 200, 'production keeps its own');
    assert.equal((await get('/web/', { auth: 'reviewer:review-pw' })).status, 401);
    // Bad orders: an HQ problem naming the file, the line and the flag; what runs keeps running.
    hq.commit({ 'web/orders': `autodeploy https://${APP.host}/${APP.full}.git#master\nexport FROM_ORDERS=orders\nexport DATABASE_URL=prod-db\nproxy_for ${HOSTNAME}\npreviews --max x\n` }, 'bad previews');
    assert.equal((await hqHook()).status, 202);
    const problems = await waitFor(async () => {
      const s = await statusJson<{ problems: string[] }>(dataDir);
      return s.problems.some((p) => p.includes('--max')) ? s.problems : null;
    }, 'the orders problem in status', 60_000, 250);
    assert.ok(problems.includes('web/orders:5: previews --max: expected a whole number from 0 to 1000, got "x"'), problems.join('\n'));
    assert.equal((await served('/web--feature-hook/', { auth: 'reviewer:review-pw' }))?.version, 'hook1');
  });
});
