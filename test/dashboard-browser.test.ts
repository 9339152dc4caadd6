import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { artifactsDir, launchChromium } from './helpers/browser.js';
import { fixtureRepo } from './helpers/fixtures.js';
import { initRepo } from './helpers/git.js';
import { killRecordedInstances } from './helpers/instances.js';
import { makeKey, type TestKey } from './helpers/keys.js';
import { httpGet } from './helpers/phleet.js';
import { startShip, type ShipProcess } from './helpers/ship.js';
import { runSsh } from './helpers/ssh.js';
import { tmpDir } from './helpers/tmp.js';
import { sleep, waitFor } from './helpers/wait.js';

/**
 * The dashboard in Debian's headless chromium: in only through the one-time link `ssh admiral@ship starphleet
 * dashboard` prints, then the services, a live log line, and refusals of a reused and an expired link.
 * Screenshots go to test-artifacts/dashboard-browser/.
 */
const LOGIN_SECONDS = 4;
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
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/starphleet\/dashboard\/login\?token=[A-Za-z0-9_-]{43}$/);
  assert.match(r.stderr, new RegExp(`works once, for ${LOGIN_SECONDS} s`));
  return url;
}

before(async () => {
  admiral = makeKey(root, 'admiral');
  fixtureRepo('procfile-app', join(root, 'app'));
  initRepo(join(root, 'hq'), {
    'authorized_keys/admiral': `${admiral.pub}\n`,
    'app/orders': `autodeploy ${join(root, 'app')}\n`,
    '.starphleet': `export STARPHLEET_DASHBOARD_LOGIN_SECONDS=${LOGIN_SECONDS}\n`,
  });
  [ship, chromium] = await Promise.all([startShip({ headquarters: join(root, 'hq'), dataDir, pulse: 1, env: { STARPHLEET_RUNTIME: 'process' } }), launchChromium()]);
  await waitFor(async () => (await httpGet(ship.httpPort, '/app/')).status === 200, 'the app serving', 180_000, 500);
});

after(async () => {
  await chromium?.close();
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

test('an admiral logs in with the one-time link, sees the services and a log line appear live; the link works once', async () => {
  const url = await loginUrl();
  const context = await chromium.browser.createBrowserContext();
  const page = await context.newPage();
  const answer = await page.goto(url, { waitUntil: 'domcontentloaded' });
  assert.equal(answer?.status(), 200);
  assert.equal(new URL(page.url()).pathname, '/starphleet/dashboard', 'redirected to the bare page');
  assert.equal(new URL(page.url()).search, '', 'the token left the address bar');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'starphleet_dashboard');
  assert.ok(session, JSON.stringify(cookies));
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, 'Strict');
  assert.equal(session.path, '/starphleet/dashboard');
  assert.equal(await page.evaluate('document.cookie'), '', 'the session is out of reach of scripts');

  await page.waitForSelector('#services tr[data-service="app"]');
  const row = await page.$eval('#services tr[data-service="app"]', (tr) => tr.textContent ?? '');
  assert.match(row, /serving/);
  assert.match(row, /web=1/);
  assert.match(await page.$eval('#ship', (s) => s.textContent ?? ''), /testship/);
  assert.match(await page.$eval('#deploys', (s) => s.textContent ?? ''), /app.*serving/s);
  await page.waitForFunction("(document.getElementById('log-state')?.textContent ?? '').includes('following app')", { timeout: 30_000 });
  await page.screenshot({ path: join(shots, '1-services.png'), fullPage: true });

  const marker = `live-${Date.now()}`;
  assert.equal((await httpGet(ship.httpPort, `/app/${marker}`)).status, 200);
  await page.waitForFunction(`(document.getElementById('log-lines')?.textContent ?? '').includes(${JSON.stringify(marker)})`, { timeout: 30_000 });
  await page.screenshot({ path: join(shots, '2-live-log.png'), fullPage: true });

  // The same link in another browser profile: used up.
  const other = await chromium.browser.createBrowserContext();
  const again = await other.newPage();
  const refused = await again.goto(url, { waitUntil: 'domcontentloaded' });
  assert.equal(refused?.status(), 403);
  assert.match(await again.content(), /does not work/);
  assert.equal((await other.cookies()).length, 0, 'no session for a used link');
  await again.screenshot({ path: join(shots, '3-reused-link.png') });
  const dash = await again.goto(new URL('/starphleet/dashboard', url).href, { waitUntil: 'domcontentloaded' });
  assert.equal(dash?.status(), 401);
  assert.doesNotMatch(await again.content(), /data-service/);
  await other.close();
  await context.close();
});

test('an expired link is refused', async () => {
  const url = await loginUrl();
  await sleep((LOGIN_SECONDS + 1) * 1000);
  const context = await chromium.browser.createBrowserContext();
  const page = await context.newPage();
  const r = await page.goto(url, { waitUntil: 'domcontentloaded' });
  assert.equal(r?.status(), 403);
  assert.equal((await context.cookies()).length, 0);
  await page.screenshot({ path: join(shots, '4-expired-link.png') });
  await context.close();
});
