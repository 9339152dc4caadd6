import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseMetricsListen } from '../../../src/settings/metrics-listen.js';
import { ConfigError } from '../../../src/settings/config-error.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet, statusServices } from '../../helpers/phleet.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * The ship's Prometheus exposition on --metrics-listen, read with real HTTP and checked by Debian's promtool; its
 * counters move with real traffic through the data plane, a real deploy, real OpenSSH logins and a real sftp download.
 */
const root = tmpDir('sp-mx-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
let ship: ShipProcess;
let key: TestKey;
let stranger: TestKey;
let metricsPort = 0;

async function scrape(): Promise<string> {
  const r = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  assert.equal(r.status, 200);
  assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
  return r.text();
}

/** The value of one sample (labels in any order given as a subset match); 0 when absent. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = new Map([...(m[2] ?? '').matchAll(/([a-zA-Z_]+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have.get(k) === v)) {
      total += Number(m[3]);
      found = true;
    }
  }
  return found ? total : 0;
}

function promtool(text: string): { code: number | null; out: string } {
  const r = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
}

before(async () => {
  fixtureRepo('static-site', app);
  key = makeKey(root, 'admiral');
  stranger = makeKey(root, 'stranger');
  initRepo(hq, { 'authorized_keys/admiral': `${key.pub}\n`, 'site/orders': `autodeploy ${app}\n` });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, args: ['--metrics-listen', '127.0.0.1:0'], env: { STARPHLEET_RUNTIME: 'process' } });
  const m = await ship.waitForLog(/metrics: Prometheus exposition at http:\/\/127\.0\.0\.1:([0-9]+)\/metrics/);
  metricsPort = Number(m[1]);
  await waitFor(async () => (await statusServices(dataDir)).find((s) => s.name === 'site')?.state === 'serving', 'site serving', 240_000, 500);
  // The deploy is counted when its record is finished, just after the switch that status shows (CI saw 0 in between).
  await waitFor(async () => sample(await scrape(), 'starphleet_deploys_total', { service: 'site', result: 'succeeded' }) === 1, 'the first deploy counted', 30_000, 100);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe('the setting', () => {
  test('host:port, [v6]:port and off; anything else names the setting', () => {
    assert.deepEqual(parseMetricsListen(undefined), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseMetricsListen('[::1]:9100'), { host: '::1', port: 9100 });
    assert.equal(parseMetricsListen('off'), null);
    assert.throws(() => parseMetricsListen('9464', 'STARPHLEET_METRICS_LISTEN'), (e: Error) => e instanceof ConfigError && /^STARPHLEET_METRICS_LISTEN must be host:port/.test(e.message));
    assert.throws(() => parseMetricsListen('localhost:99999'), /--metrics-listen must be/);
  });
});

describe('the exposition', () => {
  test('promtool check metrics accepts it; only /metrics answers', async () => {
    const text = await scrape();
    const r = promtool(text);
    assert.equal(r.code, 0, r.out);
    assert.equal(r.out.trim(), '', `promtool found nothing to lint:\n${r.out}`);
    assert.equal(sample(text, 'starphleet_instances_up', { service: 'site', process: 'web' }), 1);
    assert.equal(sample(text, 'starphleet_deploys_total', { service: 'site', result: 'succeeded' }), 1);
    assert.equal(sample(text, 'starphleet_build_duration_seconds_count', { service: 'site', result: 'succeeded' }), 1);
    const age = sample(text, 'starphleet_hq_last_good_sync_age_seconds');
    assert.ok(text.includes('starphleet_hq_last_good_sync_age_seconds ') && age >= 0 && age < 60, `sync age ${age}`);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${metricsPort}/metrics`, { method: 'POST' })).status, 405);
  });

  test('requests through the data plane move the per-service counters and the latency histogram', async () => {
    const before = await scrape();
    for (let i = 0; i < 20; i++) assert.equal((await httpGet(ship.httpPort, '/site/')).status, 200);
    for (let i = 0; i < 5; i++) assert.equal((await httpGet(ship.httpPort, '/site/no-such-page')).status, 404);
    const after = await scrape();
    const d = (name: string, labels: Record<string, string>): number => sample(after, name, labels) - sample(before, name, labels);
    assert.equal(d('starphleet_http_requests_total', { service: 'site', code: '2xx' }), 20);
    assert.equal(d('starphleet_http_requests_total', { service: 'site', code: '4xx' }), 5);
    assert.equal(d('starphleet_http_request_duration_seconds_count', { service: 'site' }), 25);
    assert.equal(d('starphleet_http_request_duration_seconds_bucket', { service: 'site', le: '+Inf' }), 25);
    assert.ok(d('starphleet_http_request_duration_seconds_sum', { service: 'site' }) > 0);
    assert.equal(promtool(after).code, 0);
  });

  test('a deploy moves deploys and build durations', async () => {
    const before = await scrape();
    commit(app, { 'index.html': '<h1>v2</h1>\n' });
    await waitFor(async () => (await httpGet(ship.httpPort, '/site/')).body.includes('v2'), 'v2 serving', 240_000, 500);
    const after = await waitFor(async () => {
      const t = await scrape();
      return sample(t, 'starphleet_deploys_total', { service: 'site', result: 'succeeded' }) === 2 ? t : null;
    }, 'deploys_total 2', 30_000, 300);
    assert.equal(sample(after, 'starphleet_deploy_duration_seconds_count', { service: 'site' }) - sample(before, 'starphleet_deploy_duration_seconds_count', { service: 'site' }), 1);
    assert.equal(sample(after, 'starphleet_build_duration_seconds_count', { service: 'site' }), 2);
    assert.ok(sample(after, 'starphleet_build_duration_seconds_sum', { service: 'site' }) > 0);
    assert.equal(sample(after, 'starphleet_instances_up', { service: 'site', process: 'web' }), 1);
  });

  test('SSH logins and failures by user; a made-up user name is `other`, never its own series; SFTP bytes', async () => {
    const before = await scrape();
    const ok = await runSsh({ key: key.privatePath, port: ship.sshPort, args: ['starphleet', 'version'] });
    assert.equal(ok.code, 0, ok.stderr);
    const bad = await runSsh({ key: stranger.privatePath, port: ship.sshPort, args: ['true'] });
    assert.equal(bad.code, 255);
    const odd = await runSsh({ key: stranger.privatePath, port: ship.sshPort, user: 'zz-made-up-user', args: ['true'] });
    assert.equal(odd.code, 255);
    const dl = tmpDir('sp-mx-dl-');
    const got = await sftpBatch({ key: key.privatePath, port: ship.sshPort, cwd: dl, lines: ['get /services/site/current/index.html'] });
    assert.equal(got.code, 0, got.stderr);
    const size = statSync(join(dl, 'index.html')).size;
    const after = await waitFor(async () => {
      const t = await scrape();
      return sample(t, 'starphleet_sftp_bytes_total', { direction: 'read' }) > sample(before, 'starphleet_sftp_bytes_total', { direction: 'read' }) ? t : null;
    }, 'sftp bytes', 15_000, 300);
    const d = (name: string, labels: Record<string, string>): number => sample(after, name, labels) - sample(before, name, labels);
    assert.equal(d('starphleet_ssh_logins_total', { user: 'admiral' }), 2, 'ssh and sftp: two logins');
    assert.ok(d('starphleet_ssh_login_failures_total', { user: 'admiral' }) >= 1);
    assert.ok(d('starphleet_ssh_login_failures_total', { user: 'other' }) >= 1);
    assert.doesNotMatch(after, /zz-made-up-user/);
    assert.equal(d('starphleet_sftp_bytes_total', { user: 'admiral', direction: 'read' }), size);
    assert.equal(promtool(after).code, 0);
  });
});
