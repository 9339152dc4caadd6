import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { StatusJson } from '../src/agent/status-json.js';
import { esc } from '../src/dashboard/html.js';
import { page } from '../src/dashboard/page.js';
import { commit, initRepo } from './helpers/git.js';
import { killRecordedInstances } from './helpers/instances.js';
import { makeKey, type TestKey } from './helpers/keys.js';
import { cli } from './helpers/phleet.js';
import { startShip, type ShipProcess } from './helpers/ship.js';
import { runSsh } from './helpers/ssh.js';
import { tmpDir } from './helpers/tmp.js';
import { sleep, waitFor } from './helpers/wait.js';

/** The dashboard's door, attacked with curl: no cookie, forged cookies, reused, expired and mangled links, other methods. */
const LOGIN_SECONDS = 2;
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

function curl(path: string, o: { cookie?: string; method?: string } = {}): Promise<Curl> {
  const args = ['-sS', '-i', '--max-time', '20', ...(o.method ? ['-X', o.method] : []), ...(o.cookie ? ['-H', `Cookie: ${o.cookie}`] : []), path.startsWith('http') ? path : `http://127.0.0.1:${ship.httpPort}${path}`];
  return new Promise((resolve, reject) => {
    execFile('curl', args, { encoding: 'utf8' }, (err, stdout) => {
      if (err) return reject(err);
      const split = stdout.indexOf('\r\n\r\n');
      const headers = stdout.slice(0, split);
      resolve({ status: Number(/^HTTP\/[\d.]+ (\d+)/.exec(headers)?.[1] ?? 0), headers, body: stdout.slice(split + 4) });
    });
  });
}

async function loginUrl(key: TestKey = admiral): Promise<string> {
  const r = await runSsh({ key: key.privatePath, port: ship.sshPort, args: ['starphleet', 'dashboard'] });
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.toString().trim();
}

/** Logs in with a fresh link: the session cookie (name=value). */
async function session(key: TestKey = admiral): Promise<string> {
  const r = await curl(await loginUrl(key));
  assert.equal(r.status, 303, r.headers);
  const c = /^set-cookie: (starphleet_dashboard=[A-Za-z0-9_-]+);/im.exec(r.headers)?.[1];
  assert.ok(c, r.headers);
  return c;
}

before(async () => {
  admiral = makeKey(root, 'admiral');
  mate = makeKey(root, 'mate');
  initRepo(hq, { 'authorized_keys/admiral': `${admiral.pub}\n`, 'authorized_keys/mate': `${mate.pub}\n`, '.starphleet': `export STARPHLEET_DASHBOARD_LOGIN_SECONDS=${LOGIN_SECONDS}\n` });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RUNTIME: 'process' } });
  await ship.waitForLog(/2 admirals/);
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

test('without a session every dashboard path is 401 and shows nothing of the ship', async () => {
  for (const path of ['/starphleet/dashboard', '/starphleet/dashboard/', '/starphleet/dashboard/overview', '/starphleet/dashboard/logs/app', '/starphleet/dashboard/nope']) {
    const r = await curl(path);
    assert.equal(r.status, 401, `${path}: ${r.status}`);
    assert.doesNotMatch(r.body, /testship|Recent deploys|data-service/, path);
    assert.match(r.body, /starphleet dashboard/, 'it says how to get in');
  }
  for (const cookie of ['starphleet_dashboard=' + 'A'.repeat(43), "starphleet_dashboard=' OR 1=1 --", 'starphleet_dashboard=', 'other=1; starphleet_dashboard=%00', 'STARPHLEET_DASHBOARD=x']) {
    assert.equal((await curl('/starphleet/dashboard', { cookie })).status, 401, cookie);
  }
});

test('a link logs in once: 303 with an HttpOnly SameSite=Strict cookie; reused, expired, mangled or guessed links are 403', async () => {
  const url = await loginUrl();
  const token = new URL(url).searchParams.get('token') ?? '';
  assert.equal((await curl(`/starphleet/dashboard/login?token=${token.slice(0, -1)}`)).status, 403, 'truncated');
  assert.equal((await curl(`/starphleet/dashboard/login?token=${token.toUpperCase()}`)).status, 403, 'case changed');
  const first = await curl(url);
  assert.equal(first.status, 303, first.headers);
  assert.match(first.headers, /^location: \/starphleet\/dashboard\r?$/im);
  const setCookie = /^set-cookie: (.*)$/im.exec(first.headers)?.[1] ?? '';
  assert.match(setCookie, /^starphleet_dashboard=[A-Za-z0-9_-]{43}; Path=\/starphleet\/dashboard; Max-Age=\d+; HttpOnly; SameSite=Strict/);
  assert.match(first.headers, /^referrer-policy: no-referrer/im, 'the token never leaks in a Referer');
  const cookie = setCookie.split(';')[0] as string;
  assert.notEqual(cookie.split('=')[1], token, 'the session id is not the token');

  const reused = await curl(url);
  assert.equal(reused.status, 403, 'a link works once (a truncated try before did not use it up)');
  assert.doesNotMatch(reused.headers, /set-cookie/i);
  assert.equal((await curl(`/starphleet/dashboard/login?token=${cookie.split('=')[1]}`)).status, 403, 'a session id is no login token');
  assert.equal((await curl('/starphleet/dashboard/login')).status, 403);

  const late = await loginUrl();
  await sleep((LOGIN_SECONDS + 1) * 1000);
  assert.equal((await curl(late)).status, 403, 'expired');

  const r = await curl('/starphleet/dashboard', { cookie });
  assert.equal(r.status, 200, r.body);
  assert.match(r.body, /testship/);
  const csp = /^content-security-policy: (.*)$/im.exec(r.headers)?.[1] ?? '';
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'self'/);
  assert.doesNotMatch(csp, /https?:|unsafe-inline|\*/);
  assert.match(r.headers, /^x-frame-options: DENY/im);
  assert.match(r.headers, /^cache-control: no-store/im);
  assert.doesNotMatch(r.body, /<script>|src="http|href="http/, 'no inline script, nothing from elsewhere');

  assert.equal((await curl('/starphleet/dashboard', { cookie, method: 'POST' })).status, 405);
  assert.equal((await curl(url, { method: 'POST' })).status, 405);
  for (const path of ['/starphleet/dashboard/logs/..%2F..%2Fetc', '/starphleet/dashboard/logs/nosuch', '/starphleet/dashboard/logs/%2Fetc%2Fpasswd']) {
    assert.equal((await curl(path, { cookie })).status, 404, path);
  }
});

test('the local CLI gets a link too; removing an admiral from HQ ends the sessions issued while it was one', async () => {
  const local = await cli(dataDir, 'dashboard');
  assert.equal(local.code, 0, local.stderr);
  assert.match(local.stdout, /\/starphleet\/dashboard\/login\?token=/);
  assert.equal((await curl(local.stdout.trim())).status, 303);

  const cookie = await session(mate);
  assert.equal((await curl('/starphleet/dashboard', { cookie })).status, 200);
  commit(hq, { 'authorized_keys/mate': null }, 'mate leaves');
  await ship.waitForLog(/1 admirals/);
  await waitFor(async () => (await curl('/starphleet/dashboard', { cookie })).status === 401, 'the session ended', 30_000, 250);
  const r = await runSsh({ key: mate.privatePath, port: ship.sshPort, args: ['starphleet', 'dashboard'] });
  assert.notEqual(r.code, 0, 'a removed admiral gets no new link');
});

test('everything a service, HQ or a deploy says is escaped in the page', () => {
  const evil = `<img src=x onerror="alert(1)">'\`&`;
  const status: StatusJson = {
    ship: { name: evil, version: '1', headquarters: { url: evil, sha: null, contact: null }, tags: [evil], writeBack: null, sandbox: evil, dataDir: null },
    services: [{ name: evil, mount: `/${evil}`, giturl: evil, sha: null, state: evil, release: evil, url: null, message: evil, processes: { [evil]: 1 }, pin: null }],
    problems: [evil],
    data: [],
  };
  const html = page({ status, deploys: [{ id: 1, service: evil, release: evil, sha: 'a'.repeat(40), at: evil, trigger: evil, result: 'failed', reason: evil }], lastSync: null, checkedAt: evil, user: evil }, evil);
  assert.doesNotMatch(html, /<img|onerror="|'\\`&[^#]/);
  assert.ok(html.includes(esc(evil)));
  assert.equal(esc(`<>&"'\``), '&#60;&#62;&#38;&#34;&#39;&#96;');
});
