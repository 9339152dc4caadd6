import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { StatusJson } from '../../../src/agent/status-json.js';
import { esc } from '../../../src/dashboard/html.js';
import { overview, shell } from '../../../src/dashboard/page.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { cli } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/**
 * The dashboard's door on its own listener, attacked with curl: no session, forged ones, reused, expired and mangled
 * links, logins from another origin or as a form, other methods, CORS, the old front-door paths.
 */
// Long enough for seven refused curl logins on a loaded 2-core machine (2 s was not), short enough to wait out.
const LOGIN_SECONDS = 8;
const root = tmpDir('sp-dash-attacks-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
let ship: ShipProcess;
let admiral: TestKey;
let mate: TestKey;

interface Curl {
  readonly status: number;
  readonly headers: string;
  readonly body: string;
}

let dashBase = '';

function curl(path: string, o: { session?: string; method?: string; headers?: readonly string[]; data?: string } = {}): Promise<Curl> {
  const args = ['-sS', '-i', '--max-time', '20', ...(o.method ? ['-X', o.method] : []), ...(o.session !== undefined ? ['-H', `Authorization: Bearer ${o.session}`] : []), ...(o.headers ?? []).flatMap((h) => ['-H', h]), ...(o.data !== undefined ? ['--data-binary', o.data] : []), path.startsWith('http') ? path : `${dashBase}${path.slice(1)}`];
  return new Promise((resolve, reject) => {
    execFile('curl', args, { encoding: 'utf8' }, (err, stdout) => {
      if (err) return reject(err);
      const split = stdout.indexOf('\r\n\r\n');
      const headers = stdout.slice(0, split);
      resolve({ status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1] ?? 0), headers, body: stdout.slice(split + 4) });
    });
  });
}

/** A one-time link from `ssh admiral@ship starphleet dashboard`: http://127.0.0.1:<port>/#login=<token>. */
async function loginUrl(key: TestKey = admiral): Promise<string> {
  const r = await runSsh({ key: key.privatePath, port: ship.sshPort, args: ['starphleet', 'dashboard'] });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString().trim();
}

const tokenOf = (url: string): string => /#login=([A-Za-z0-9_-]+)$/.exec(url)?.[1] ?? '';
const login = (token: string, headers: readonly string[] = ['Content-Type: application/json']): Promise<Curl> => curl('/api/login', { method: 'POST', headers, data: JSON.stringify({ token }) });

/** Logs in with a fresh link: the session id. */
async function session(key: TestKey = admiral): Promise<string> {
  const r = await login(tokenOf(await loginUrl(key)));
  assert.equal(r.status, 200, r.body);
  const id = (JSON.parse(r.body) as { session: string }).session;
  assert.match(id, /^[A-Za-z0-9_-]{43}$/);
  return id;
}

before(async () => {
  admiral = makeKey(root, 'admiral');
  mate = makeKey(root, 'mate');
  initRepo(hq, { 'authorized_keys/admiral': `${admiral.pub}\n`, 'authorized_keys/mate': `${mate.pub}\n`, '.starphleet': `export STARPHLEET_DASHBOARD_LOGIN_SECONDS=${LOGIN_SECONDS}\n` });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RUNTIME: 'process' } });
  await ship.waitForLog(/2 admirals/);
  const m = await ship.waitForLog(/dashboard on (http:\/\/127\.0\.0\.1:\d+\/)/);
  dashBase = m[1] as string;
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

test('the link names the dashboard\'s own listener, not the front door; the front door serves no dashboard', async () => {
  const url = await loginUrl();
  assert.ok(url.startsWith(dashBase), url);
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/#login=[A-Za-z0-9_-]{43}$/);
  assert.notEqual(new URL(url).port, String(ship.httpPort));
  for (const path of ['/starphleet/dashboard', '/starphleet/dashboard/login?token=x', '/starphleet/dashboard/logs/app']) {
    const r = await curl(`http://127.0.0.1:${ship.httpPort}${path}`);
    assert.equal(r.status, 404, `${path}: ${r.status}`);
  }
});

test('without a session every /api/ path is 401 and shows nothing of the ship; the page shell holds no data', async () => {
  for (const path of ['/api/overview', '/api/logs/app', '/api/nope']) {
    const r = await curl(path);
    assert.equal(r.status, 401, `${path}: ${r.status}`);
    assert.doesNotMatch(r.body, /testship|Recent deploys|data-service/, path);
    assert.match(r.body, /starphleet dashboard/, 'it says how to get in');
  }
  for (const forged of ['A'.repeat(43), "' OR 1=1 --", '', '%00', 'x'.repeat(200)]) assert.equal((await curl('/api/overview', { session: forged })).status, 401, forged);
  for (const cookie of ['starphleet_dashboard=x', 'session=1']) assert.equal((await curl('/api/overview', { headers: [`Cookie: ${cookie}`] })).status, 401, 'cookies mean nothing here');
  const page = await curl('/');
  assert.equal(page.status, 200);
  assert.doesNotMatch(page.body, /testship|data-service/);
  assert.equal(page.body, shell());
  assert.doesNotMatch(page.headers, /set-cookie/i);
});

test('a link logs in once, by a same-origin JSON POST; reused, expired, mangled, cross-origin and form logins are refused', async () => {
  const token = tokenOf(await loginUrl());
  assert.equal((await login(token.slice(0, -1))).status, 403, 'truncated');
  assert.equal((await login(token.toUpperCase())).status, 403, 'case changed');
  assert.equal((await login(token, ['Content-Type: application/json', 'Origin: http://evil.example'])).status, 403, 'another origin');
  assert.equal((await login(token, ['Content-Type: application/json', 'Sec-Fetch-Site: cross-site'])).status, 403, 'another site');
  assert.equal((await login(token, ['Content-Type: application/x-www-form-urlencoded'])).status, 415, 'a form');
  assert.equal((await login(token, ['Content-Type: text/plain'])).status, 415, 'a no-preflight text POST');
  assert.equal((await curl(`/api/login?token=${token}`)).status, 405, 'GET');
  const first = await login(token, ['Content-Type: application/json', `Origin: ${dashBase.slice(0, -1)}`, 'Sec-Fetch-Site: same-origin']);
  assert.equal(first.status, 200, `the refused tries did not use the link up: ${first.body}`);
  assert.doesNotMatch(first.headers, /set-cookie|access-control/i);
  assert.match(first.headers, /^referrer-policy: no-referrer/im);
  const id = (JSON.parse(first.body) as { session: string; user: string }).session;
  assert.notEqual(id, token, 'the session id is not the token');
  assert.match(JSON.parse(first.body).user, /^admiral admiral SHA256:/, 'the admiral who asked, by key name and fingerprint');

  assert.equal((await login(token)).status, 403, 'a link works once');
  assert.equal((await login(id)).status, 403, 'a session id is no login token');
  const late = tokenOf(await loginUrl());
  await sleep((LOGIN_SECONDS + 1) * 1000);
  assert.equal((await login(late)).status, 403, 'expired');

  const r = await curl('/api/overview', { session: id, headers: ['Origin: http://evil.example'] });
  assert.equal(r.status, 200, r.body);
  assert.match(JSON.parse(r.body).ship, /testship/);
  assert.doesNotMatch(r.headers, /access-control-allow/i, 'no CORS: another origin reads nothing');
  assert.match(r.headers, /^cross-origin-resource-policy: same-origin/im);
  const csp = /^content-security-policy: (.*)$/im.exec(r.headers)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /https?:|unsafe-inline|\*/);
  assert.match(r.headers, /^x-frame-options: DENY/im);
  assert.match(r.headers, /^cache-control: no-store/im);
  const preflight = await curl('/api/overview', { method: 'OPTIONS', headers: ['Origin: http://evil.example', 'Access-Control-Request-Headers: authorization'] });
  assert.equal(preflight.status, 405);
  assert.doesNotMatch(preflight.headers, /access-control-allow/i);

  assert.equal((await curl('/api/overview', { session: id, method: 'POST' })).status, 405);
  for (const path of ['/api/logs/..%2F..%2Fetc', '/api/logs/nosuch', '/api/logs/%2Fetc%2Fpasswd']) assert.equal((await curl(path, { session: id })).status, 404, path);
});

test('the local CLI gets a link too; removing an admiral from HQ ends the sessions issued while it was one', async () => {
  const local = await cli(dataDir, 'dashboard');
  assert.equal(local.code, 0, local.stderr);
  assert.ok(local.stdout.trim().startsWith(`${dashBase}#login=`), local.stdout);
  assert.equal((await login(tokenOf(local.stdout.trim()))).status, 200);

  const id = await session(mate);
  assert.equal((await curl('/api/overview', { session: id })).status, 200);
  commit(hq, { 'authorized_keys/mate': null }, 'mate leaves');
  await ship.waitForLog(/1 admirals/);
  await waitFor(async () => (await curl('/api/overview', { session: id })).status === 401, 'the session ended', 30_000, 250);
  const r = await runSsh({ key: mate.privatePath, port: ship.sshPort, args: ['starphleet', 'dashboard'] });
  assert.notEqual(r.code, 0, 'a removed admiral gets no new link');
});

test('everything a service, HQ or a deploy says is escaped in the overview', () => {
  const evil = `<img src=x onerror="alert(1)">'\`&`;
  const status: StatusJson = {
    ship: { name: evil, version: '1', headquarters: { url: evil, sha: null, contact: null }, tags: [evil], writeBack: null, sandbox: evil, dataDir: null },
    services: [{ name: evil, mount: `/${evil}`, giturl: evil, sha: null, state: evil, release: evil, url: null, message: evil, processes: { [evil]: 1 }, pin: null, traffic: { maintenance: { source: 'admiral', message: evil, allow: [], by: evil, at: null }, paused: null, rollout: null } }],
    problems: [evil],
    data: [],
    previews: [{ service: evil, name: evil, branch: evil, ref: evil, sha: 'b'.repeat(40), state: evil, message: evil, release: evil, url: `javascript:${evil}`, hostUrls: [evil], since: evil, age: 1 }],
  };
  const html = overview({ status, deploys: [{ id: 1, service: evil, release: evil, sha: 'a'.repeat(40), at: evil, trigger: evil, result: 'failed', reason: evil }], lastSync: null, checkedAt: evil, user: evil }).html;
  assert.doesNotMatch(html, /<img|onerror="|'\\`&[^#]/);
  assert.doesNotMatch(html, /href="javascript:/, 'a preview URL is a link only when it is http(s)');
  assert.ok(html.includes(esc(evil)));
  assert.equal(esc(`<>&"'\``), '&#60;&#62;&#38;&#34;&#39;&#96;');
});
