import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'puppeteer-core';
import { artifactsDir, launchChromium } from '../../helpers/browser.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';

/**
 * The dashboard in Debian's headless chromium, on its own origin: in only through the one-time link `ssh admiral@ship
 * starphleet dashboard` prints, then the services, a live log line, refusals of a reused and an expired link; and a
 * hostile service's page, opened by the logged-in admiral, that gets nothing of the dashboard. Screenshots go to
 * test-artifacts/dashboard-browser/.
 */
const LOGIN_SECONDS = 4;
const KEY = 'starphleet-dashboard-session';
const root = tmpDir('sp-dash-browser-');
const dataDir = join(root, 'data');
const shots = artifactsDir('dashboard-browser');
let ship: ShipProcess;
let admiral: TestKey;
let chromium: Awaited<ReturnType<typeof launchChromium>>;

async function loginUrl(): Promise<string> {
  const r = await runSsh({ key: admiral.privatePath, port: ship.sshPort, args: ['starphleet', 'dashboard'] });
  assert.equal(r.code, 0, r.stderr);
  const url = r.stdout.toString().trim();
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/#login=[A-Za-z0-9_-]{43}$/);
  assert.notEqual(new URL(url).port, String(ship.httpPort), 'not the front door: an origin of its own');
  assert.match(r.stderr, new RegExp(`works once, for ${LOGIN_SECONDS} s`));
  return url;
}

const text = (page: Page, sel: string): Promise<string> => page.$eval(sel, (e) => e.textContent ?? '');

before(async () => {
  admiral = makeKey(root, 'admiral');
  fixtureRepo('procfile-app', join(root, 'app'));
  fixtureRepo('snoop-app', join(root, 'snoop'));
  initRepo(join(root, 'hq'), {
    'authorized_keys/admiral': `${admiral.pub}\n`,
    'app/orders': `autodeploy ${join(root, 'app')}\n`,
    'evil/orders': `autodeploy ${join(root, 'snoop')}\n`,
    '.starphleet': `export STARPHLEET_DASHBOARD_LOGIN_SECONDS=${LOGIN_SECONDS}\n`,
  });
  [ship, chromium] = await Promise.all([startShip({ headquarters: join(root, 'hq'), dataDir, pulse: 1, env: { STARPHLEET_RUNTIME: 'process' } }), launchChromium()]);
  await waitFor(async () => (await httpGet(ship.httpPort, '/app/')).status === 200, 'the app serving', 180_000, 500);
  await waitFor(async () => (await httpGet(ship.httpPort, '/evil/')).status === 200, 'the snoop service serving', 180_000, 500);
});

after(async () => {
  await chromium?.close();
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

/** Opens a fresh login link in a page of `context` and waits until the dashboard shows the app. */
async function logIn(page: Page): Promise<string> {
  const url = await loginUrl();
  const answer = await page.goto(url, { waitUntil: 'domcontentloaded' });
  assert.equal(answer?.status(), 200);
  await page.waitForSelector('#services tr[data-service="app"]', { timeout: 30_000 });
  return url;
}

test('an admiral logs in with the one-time link, sees the services and a log line appear live; the link works once', async () => {
  const context = await chromium.browser.createBrowserContext();
  const page = await context.newPage();
  const url = await logIn(page);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.equal(new URL(page.url()).hash, '', 'the token left the address bar');
  assert.deepEqual(await context.cookies(), [], 'no cookie at all');
  const session = await page.evaluate(`sessionStorage.getItem(${JSON.stringify(KEY)})`);
  assert.match(String(session ?? ''), /^[A-Za-z0-9_-]{43}$/, 'the session lives in this origin\'s sessionStorage');
  assert.match(await text(page, '#who'), /^admiral admiral SHA256:/, 'the header names the admiral who asked, by key');

  const row = await page.$eval('#services tr[data-service="app"]', (tr) => tr.textContent ?? '');
  assert.match(row, /serving/);
  assert.match(row, /web=1/);
  assert.match(await text(page, '#ship'), /testship/);
  assert.match(await text(page, '#deploys'), /app.*serving/s);
  await page.waitForFunction("(document.getElementById('log-state')?.textContent ?? '').includes('following app')", { timeout: 30_000 });
  await page.screenshot({ path: join(shots, '1-services.png'), fullPage: true });

  const marker = `live-${Date.now()}`;
  assert.equal((await httpGet(ship.httpPort, `/app/${marker}`)).status, 200);
  await page.waitForFunction(`(document.getElementById('log-lines')?.textContent ?? '').includes(${JSON.stringify(marker)})`, { timeout: 30_000 });
  assert.match(await text(page, '#log-lines'), new RegExp(`web\\.1 \\| .*${marker}`), 'lines are labelled with their instance');
  await page.screenshot({ path: join(shots, '2-live-log.png'), fullPage: true });
  await page.reload({ waitUntil: 'domcontentloaded' });
  await page.waitForSelector('#services tr[data-service="app"]', { timeout: 30_000 });

  // The same link in another browser profile: used up.
  const other = await chromium.browser.createBrowserContext();
  const again = await other.newPage();
  await again.goto(url, { waitUntil: 'domcontentloaded' });
  await again.waitForFunction("(document.getElementById('door-title')?.textContent ?? '').includes('does not work')", { timeout: 30_000 });
  assert.equal(await again.evaluate(`sessionStorage.getItem(${JSON.stringify(KEY)})`), null, 'no session for a used link');
  assert.equal(await again.$('#services'), null);
  await again.screenshot({ path: join(shots, '3-reused-link.png') });
  const bare = await other.newPage();
  await bare.goto(new URL('/', url).href, { waitUntil: 'domcontentloaded' });
  await bare.waitForFunction("(document.getElementById('door-title')?.textContent ?? '').includes('Not logged in')", { timeout: 30_000 });
  await other.close();
  await context.close();
});

test('an expired link is refused', async () => {
  const url = await loginUrl();
  await sleep((LOGIN_SECONDS + 1) * 1000);
  const context = await chromium.browser.createBrowserContext();
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'domcontentloaded' });
  await page.waitForFunction("(document.getElementById('door-title')?.textContent ?? '').includes('does not work')", { timeout: 30_000 });
  assert.equal(await page.evaluate(`sessionStorage.getItem(${JSON.stringify(KEY)})`), null);
  await page.screenshot({ path: join(shots, '4-expired-link.png') });
  await context.close();
});

test("a service's page, opened by a logged-in admiral, reads nothing of the dashboard: not its logs, not its session", async () => {
  const context = await chromium.browser.createBrowserContext();
  const dash = await context.newPage();
  const url = await logIn(dash);
  const session = String((await dash.evaluate(`sessionStorage.getItem(${JSON.stringify(KEY)})`)) ?? '');
  assert.ok(session.length > 0);
  const origin = new URL(url).origin;

  const evil = await context.newPage();
  await evil.goto(`http://127.0.0.1:${ship.httpPort}/evil/?dash=${encodeURIComponent(origin)}`, { waitUntil: 'domcontentloaded' });
  await evil.waitForFunction("(document.getElementById('out')?.textContent ?? 'running') !== 'running'", { timeout: 60_000 });
  const raw = await text(evil, '#out');
  await evil.screenshot({ path: join(shots, '5-service-page.png'), fullPage: true });
  const got = JSON.parse(raw) as Record<string, string>;
  assert.match(got.overview ?? '', /^blocked: TypeError/, `the overview: ${raw}`);
  assert.match(got.logs ?? '', /^blocked: TypeError/, `the live log: ${raw}`);
  assert.match(got.opaque ?? '', /^blocked: TypeError/, 'Cross-Origin-Resource-Policy: not even an opaque answer for a no-cors request');
  assert.match(got.login ?? '', /^blocked: TypeError/, 'a cross-origin login POST dies at its preflight');
  assert.match(got.frame ?? '', /^blocked/, `framing: ${raw}`);
  assert.doesNotMatch(raw, new RegExp(session), 'the session id appears nowhere the page could reach');
  assert.doesNotMatch(got.cookie ?? '', /starphleet_dashboard=(?!tossed)/);

  // Nothing of the session ever reached the service: every request it got is in its log, with its headers.
  const logs = join(dataDir, 'logs', 'evil');
  const seen = readdirSync(logs).filter((f) => f.startsWith('instance-')).map((f) => readFileSync(join(logs, f), 'utf8')).join('');
  assert.match(seen, /REQ GET \/\?dash=/, 'the service logged the requests it got');
  assert.doesNotMatch(seen, new RegExp(session));
  assert.doesNotMatch(seen, /"authorization"/i);

  // The cookies the service set (starphleet_dashboard=tossed...) change nothing for the dashboard.
  await dash.reload({ waitUntil: 'domcontentloaded' });
  await dash.waitForSelector('#services tr[data-service="app"]', { timeout: 30_000 });
  assert.match(await text(dash, '#who'), /^admiral admiral SHA256:/);
  await context.close();
});
