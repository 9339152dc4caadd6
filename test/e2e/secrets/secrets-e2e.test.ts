import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openDb } from '../../../src/state/db.js';
import { listInstances } from '../../../src/state/instances.js';
import { killGroup } from '../../../src/util/process-group.js';
import { admiral, makeLaptop, type Laptop } from '../../helpers/admiral.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { gitIn } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { PushableHq } from '../../helpers/phleet-hq.js';
import { cli, httpGet, statusServices } from '../../helpers/phleet.js';
import { commitAndPush, findInTree } from '../../helpers/secrets.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { runSsh } from '../../helpers/ssh.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { dashboardLogin, firstBytes } from '../../helpers/dashboard.js';

/**
 * HQ secrets end to end, with the real `age` and real ships: an admiral's `secrets set` in an HQ checkout, committed,
 * reaches the instances of the ships sealed to, and nothing else of the ship ever holds a value; a ship that joined
 * after the sealing keeps serving and says why until `secrets reseal`; rotations redeploy exactly the services they
 * touch; a corrupt file is an HQ problem with its path. All keys are made here.
 */
const root = tmpDir('sp-secrets-');
const app = join(root, 'app');
const keys = join(root, 'keys');
let alice: TestKey;
let laptop: Laptop;
let hq: PushableHq;
const ships = new Map<string, ShipProcess>();
let metricsPort = 0;
let sink: Server;
const notified: string[] = [];
const value = (n: number): string => `sv${n}-${randomBytes(12).toString('hex')}`;
const V1 = value(1);
const V2 = value(2);
const V3 = value(3);
const V4 = value(4);

interface Served {
  readonly env: Record<string, string | null>;
}

function ship(name: string): ShipProcess {
  const s = ships.get(name);
  if (!s) throw new Error(`no ship ${name}`);
  return s;
}

async function served(name: string, mount: string): Promise<Served | null> {
  const r = await httpGet(ship(name).httpPort, `${mount}/`).catch(() => null);
  return r?.status === 200 ? (JSON.parse(r.body) as Served) : null;
}

async function releaseOf(name: string, service: string): Promise<string | null> {
  return (await statusServices(ship(name).dataDir)).find((s) => s.name === service)?.release ?? null;
}

function secrets(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return admiral(laptop, ['secrets', ...args, '--hq', hq.work, '-i', alice.privatePath]);
}

before(async () => {
  execFileSync('mkdir', ['-p', keys]);
  alice = makeKey(keys, 'alice');
  laptop = makeLaptop(alice);
  fixtureRepo('secret-app', app);
  hq = new PushableHq(root, {
    'authorized_keys/alice.pub': `${alice.pub}\n`,
    'web/orders': `autodeploy ${app}\nexport ORDERS_ONLY=orders\nexport DB_PASSWORD=from-orders\n`,
    'other/orders': `autodeploy ${app}\n`,
    '.starphleet': 'export OVERRIDDEN=from-starphleet\n',
  });
  sink = createServer((req, res) => {
    let body = '';
    req.on('data', (d: Buffer) => (body += d.toString()));
    req.on('end', () => {
      notified.push(body);
      res.end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
  const notify = `http://127.0.0.1:${(sink.address() as { port: number }).port}/events`;
  const s1 = await startShip({ headquarters: hq.bare, dataDir: join(root, 'data-s1'), args: ['--name', 's1', '--metrics-listen', '127.0.0.1:0'], env: { STARPHLEET_NOTIFY: notify } });
  ships.set('s1', s1);
  metricsPort = Number((await s1.waitForLog(/metrics: Prometheus exposition at http:\/\/127\.0\.0\.1:([0-9]+)\/metrics/))[1]);
});

after(async () => {
  await Promise.all([...ships.values()].map((s) => s.stop()));
  for (const n of ships.keys()) await killRecordedInstances(join(root, `data-${n}`));
  await new Promise((r) => sink.close(r));
});

describe('HQ secrets sealed with age to ships and admirals', { timeout: 900_000 }, () => {
  test('each ship writes its ed25519 host public key into ships/<name>', async () => {
    await waitFor(() => hq.ships().includes('s1') && typeof hq.entry('s1').hostPublicKey === 'string', 'ships/s1 with a hostPublicKey', 180_000, 500);
    const pub = execFileSync('cat', [join(root, 'data-s1', 'host_keys', 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).trim();
    assert.equal(hq.entry('s1').hostPublicKey, pub.split(' ').slice(0, 2).join(' '));
    await waitFor(async () => (await served('s1', '/web'))?.env.DB_PASSWORD === 'from-orders', 's1 serves web', 300_000, 500);
    // The sandbox's way of passing env (a file the launcher hands bwrap) is what the grep below must find nothing of.
    assert.match(ship('s1').output(), /instances run with the bwrap runtime/);
    // The admiral's checkout knows s1; a second ship joins after it.
    gitIn(hq.work, 'pull', '-q', '--rebase', 'origin', 'master');
    ships.set('s2', await startShip({ headquarters: hq.bare, dataDir: join(root, 'data-s2'), args: ['--name', 's2'] }));
    await waitFor(async () => (await served('s2', '/web'))?.env.DB_PASSWORD === 'from-orders', 's2 serves web', 300_000, 500);
    await waitFor(() => hq.ships().includes('s2'), 'ships/s2', 120_000, 500);
  });

  test('secrets set in a checkout that knows s1 only, then commit: s1 serves the values with their precedence; s2 keeps serving and says why', async () => {
    const set = await secrets('set', 'web', `DB_PASSWORD=${V1}`, 'OVERRIDDEN=from-secrets');
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /^web\/secrets\.age: set DB_PASSWORD, OVERRIDDEN; sealed to ship s1, admiral authorized_keys\/alice\.pub$/m);
    const wide = await secrets('set', '-', `SHARED_TOKEN=${V2}`);
    assert.equal(wide.code, 0, wide.stderr);
    for (const r of [set, wide]) assert.ok(![V1, V2].some((v) => r.stdout.includes(v) || r.stderr.includes(v)), 'the CLI prints no value');
    commitAndPush(hq.work, 'secrets for web and the phleet');
    // Any admiral opens them with plain age.
    const plain = execFileSync('age', ['-d', '-i', alice.privatePath, join(hq.work, 'web', 'secrets.age')], { encoding: 'utf8' });
    assert.match(plain, new RegExp(`^DB_PASSWORD="${V1}"$`, 'm'));
    // The commit brought ships/s2 into the checkout: hq check names who the files miss.
    const check = await admiral(laptop, ['hq', 'check', hq.work]);
    assert.equal(check.code, 1, check.stdout);
    assert.match(check.stdout, /^secrets\.age: not sealed to ship s2: /m);
    assert.match(check.stdout, /^web\/secrets\.age: not sealed to ship s2: /m);

    const web = await waitFor(async () => {
      const s = await served('s1', '/web');
      return s?.env.DB_PASSWORD === V1 ? s : null;
    }, 's1 serves web with its secret', 300_000, 500);
    // repo .env < orders < secrets < HQ .starphleet.
    assert.deepEqual(web.env, { DB_PASSWORD: V1, SHARED_TOKEN: V2, OVERRIDDEN: 'from-starphleet', FROM_REPO: 'repo', ORDERS_ONLY: 'orders' });
    const other = await waitFor(async () => {
      const s = await served('s1', '/other');
      return s?.env.SHARED_TOKEN === V2 ? s : null;
    }, 's1 serves other with the phleet-wide secret', 300_000, 500);
    assert.equal(other.env.DB_PASSWORD, 'from-repo-env', "web's own file is not other's");

    const row = await waitFor(async () => (await statusServices(ship('s2').dataDir)).find((s) => s.name === 'web' && /cannot open/.test(s.message)), 's2 says why', 120_000, 500);
    assert.equal(row.state, 'serving');
    assert.match(row.message, /^secrets\.age: this ship cannot open it: no identity matched any of the recipients \(this ship's host key is not a recipient yet: .*reseal.*; release \S+ keeps serving$/);
    assert.equal((await served('s2', '/web'))?.env.DB_PASSWORD, 'from-orders', 's2 keeps serving what it served');
    assert.match(ship('s2').output(), /web: secrets\.age: this ship cannot open it/);
  });

  test('reseal after s2 joined: s2 serves the values, s1 redeploys nothing', async () => {
    // s1 settled first: every service serving, nothing deploying (a deploy the previous step started may still run).
    await waitFor(async () => (await statusServices(ship('s1').dataDir)).every((x) => x.state === 'serving'), 's1 settled', 300_000, 500);
    const before = { web: await releaseOf('s1', 'web'), other: await releaseOf('s1', 'other') };
    const deploysBefore = (ship('s1').output().match(/: deploying /g) ?? []).length;
    const r = await secrets('reseal');
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^secrets\.age: resealed, sealed to ship s1, ship s2, admiral authorized_keys\/alice\.pub$/m);
    assert.match(r.stdout, /^web\/secrets\.age: resealed/m);
    const again = await secrets('reseal');
    assert.match(again.stdout, /^web\/secrets\.age: already sealed to every current ship and admiral$/m);
    const check = await admiral(laptop, ['hq', 'check', hq.work]);
    assert.equal(check.code, 0, check.stdout);
    const sha = commitAndPush(hq.work, 'reseal: s2 joined');
    await waitFor(async () => (await served('s2', '/web'))?.env.DB_PASSWORD === V1, 's2 serves web with the secret', 300_000, 500);
    await waitFor(async () => (await served('s2', '/other'))?.env.SHARED_TOKEN === V2, 's2 serves other with the phleet-wide secret', 300_000, 500);
    await waitFor(() => ship('s1').output().includes(`-> ${sha.slice(0, 7)}`), 's1 follows the reseal commit', 60_000, 250);
    await sleep(3000);
    assert.deepEqual({ web: await releaseOf('s1', 'web'), other: await releaseOf('s1', 'other') }, before, 'same values: nothing redeployed on s1');
    assert.equal((ship('s1').output().match(/: deploying /g) ?? []).length, deploysBefore);
  });

  test("rotating web's secret redeploys web only; a phleet-wide one redeploys every service", async () => {
    const otherBefore = { s1: await releaseOf('s1', 'other'), s2: await releaseOf('s2', 'other') };
    assert.equal((await secrets('set', 'web', `DB_PASSWORD=${V3}`)).code, 0);
    commitAndPush(hq.work, 'rotate web');
    for (const n of ['s1', 's2']) await waitFor(async () => (await served(n, '/web'))?.env.DB_PASSWORD === V3, `${n} serves the new web secret`, 300_000, 500);
    assert.match(ship('s1').output(), /web: deploying \S+ at [0-9a-f]{7} \(same sha: secrets changed[;)]/);
    await sleep(3000);
    assert.deepEqual({ s1: await releaseOf('s1', 'other'), s2: await releaseOf('s2', 'other') }, otherBefore, 'other is not redeployed');
    assert.equal((await secrets('set', '-', `SHARED_TOKEN=${V4}`)).code, 0);
    commitAndPush(hq.work, 'rotate the phleet-wide secret');
    for (const n of ['s1', 's2']) {
      for (const m of ['/web', '/other']) await waitFor(async () => (await served(n, m))?.env.SHARED_TOKEN === V4, `${n} ${m} gets the new phleet-wide secret`, 300_000, 500);
    }
  });

  test('a crashed instance comes back with its secrets (opened again from the release, not kept on disk)', async () => {
    const dataDir = ship('s1').dataDir;
    const db = openDb(join(dataDir, 'state.db'));
    const web = listInstances(db).find((r) => r.service === 'web' && r.state === 'serving');
    db.close();
    assert.ok(web, 'a serving web instance');
    killGroup(web.pid, 'SIGKILL');
    await waitFor(async () => {
      const d = openDb(join(dataDir, 'state.db'));
      try {
        return listInstances(d).some((r) => r.service === 'web' && r.state === 'serving' && r.id !== web.id);
      } finally {
        d.close();
      }
    }, 'web restarted', 120_000, 500);
    await waitFor(async () => (await served('s1', '/web'))?.env.DB_PASSWORD === V3, 'the restarted web has its secret', 60_000, 500);
  });

  test('over SSH, `starphleet secrets list` shows what this ship opens (names only); changes need an HQ checkout', async () => {
    const list = await runSsh({ key: alice.privatePath, port: ship('s1').sshPort, args: ['starphleet', 'secrets', 'list'] });
    assert.equal(list.code, 0, list.stderr);
    assert.equal(list.stdout.toString(), 'secrets.age\n  SHARED_TOKEN\nweb/secrets.age\n  DB_PASSWORD\n  OVERRIDDEN\n');
    const set = await runSsh({ key: alice.privatePath, port: ship('s1').sshPort, args: ['starphleet', 'secrets', 'set', 'web', 'A=1'] });
    assert.equal(set.code, 1);
    assert.match(set.stderr, /secrets set changes an HQ checkout you commit from: give it with --hq DIR/);
  });

  test('no value anywhere: data dirs, logs, status, releases, audit, notifications, metrics, the dashboard, the SFTP view', async () => {
    const all = [V1, V2, V3, V4];
    for (const n of ['s1', 's2']) {
      const s = ship(n);
      assert.deepEqual(findInTree(s.dataDir, all), [], `${n}'s data dir holds a value`);
      assert.ok(!all.some((v) => s.output().includes(v)), `${n}'s log holds a value`);
      for (const args of [['status', '--json'], ['status'], ['releases', 'web'], ['releases', 'other'], ['logs', 'web'], ['audit', '-n', '1000', '--json']]) {
        const r = await cli(s.dataDir, ...args);
        assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(!all.some((v) => r.stdout.includes(v) || r.stderr.includes(v)), `${n}: ${args.join(' ')} shows a value`);
      }
    }
    const status = JSON.parse((await cli(ship('s1').dataDir, 'status', '--json')).stdout) as { services: { name: string }[] };
    assert.ok(status.services.some((x) => x.name === 'web'));
    const metrics = await (await fetch(`http://127.0.0.1:${metricsPort}/metrics`)).text();
    assert.match(metrics, /starphleet_/);
    assert.ok(!all.some((v) => metrics.includes(v)), 'metrics');
    assert.ok(notified.length > 0, 'notifications were sent');
    assert.ok(!all.some((v) => notified.some((b) => b.includes(v))), 'notifications');
    // The dashboard, as an admiral sees it through a one-time link.
    const login = (await runSsh({ key: alice.privatePath, port: ship('s1').sshPort, args: ['starphleet', 'dashboard'] })).stdout.toString().trim();
    // Its own origin: the link's fragment holds a one-time token, posted once for a session id sent as a Bearer header.
    const dash = await dashboardLogin(login);
    for (const path of ['/', '/api/overview', '/api/logs/web']) {
      const ac = new AbortController();
      const page = await dash.get(path, ac.signal);
      assert.equal(page.status, 200, path);
      // The live log is an event stream: what it sent in its first seconds is enough.
      const html = path.startsWith('/api/logs/') ? await firstBytes(page, 2_000, ac) : await page.text();
      if (path !== '/') assert.match(html, /web/);
      assert.ok(!all.some((v) => html.includes(v)), `the dashboard ${path}`);
    }
    const view = tmpDir('sp-secrets-view-');
    const got = await sftpBatch({ key: alice.privatePath, port: ship('s1').sshPort, cwd: view, lines: ['get -r /configs', 'get -r /services', 'get -r /logs', 'get -r /layers'], timeoutMs: 180_000 });
    assert.equal(got.code, 0, got.stderr);
    const cfg = JSON.parse(execFileSync('cat', [join(view, 'configs', 'web.json')], { encoding: 'utf8' })) as { secretNames?: string[] };
    assert.deepEqual(cfg.secretNames, ['DB_PASSWORD', 'SHARED_TOKEN'], 'the view names the secrets in force');
    assert.deepEqual(findInTree(view, all), [], 'the SFTP view holds a value');
  });

  test('a corrupt secrets.age is an HQ problem with its path; the service keeps serving', async () => {
    const before = await releaseOf('s1', 'other');
    writeFileSync(join(hq.work, 'other', 'secrets.age'), 'not sealed at all\n');
    commitAndPush(hq.work, 'a broken file');
    const check = await admiral(laptop, ['hq', 'check', hq.work]);
    assert.equal(check.code, 1);
    assert.match(check.stdout, /^other\/secrets\.age: not an age file/m);
    const row = await waitFor(async () => (await statusServices(ship('s1').dataDir)).find((s) => s.name === 'other' && /other\/secrets\.age/.test(s.message)), 's1 says which file', 120_000, 500);
    assert.equal(row.state, 'serving');
    assert.match(row.message, /^other\/secrets\.age: not an age file .*; release \S+ keeps serving$/);
    assert.equal(await releaseOf('s1', 'other'), before);
    assert.equal((await served('s1', '/other'))?.env.SHARED_TOKEN, V4);
    const problems = await cli(ship('s1').dataDir, 'status');
    assert.match(problems.stdout, /other\/secrets\.age/);
  });
});

