import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseTargets, styleOf } from '../../../src/notify/targets.js';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * STARPHLEET_NOTIFY against a real receiver on loopback: a real ship deploys, fails a deploy and rolls back, and the
 * receiver gets each event in order, as the whole JSON event on one URL and as a Slack/Mattermost `{text}` body on a
 * `/hooks/...` URL. The JSON URL answers its first POST with 503: the notification is retried, and order holds.
 */
const root = tmpDir('sp-nt-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
const crashy = join(root, 'crashy');
let ship: ShipProcess;
let sink: Server;
let sinkPort = 0;
/** A receiver that takes connections and never answers: it must hold up nothing but its own queue. */
let hang: TcpServer;
const hung: Socket[] = [];

interface Got {
  readonly path: string;
  readonly body: Record<string, unknown>;
  readonly type: string;
}
const got: Got[] = [];
let refusedFirst = 0;

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let s = '';
    req.setEncoding('utf8');
    req.on('data', (d: string) => (s += d));
    req.on('end', () => resolve(s));
  });
}

const events = (path: string): Record<string, unknown>[] => got.filter((g) => g.path === path).map((g) => g.body);
const site = (path: string): Record<string, unknown>[] => events(path).filter((b) => b.service === 'site' || (b.event === undefined && /^testship: site: /.test(String(b.text))));

before(async () => {
  sink = createServer((req, res) => {
    void readBody(req).then((text) => {
      if (req.url === '/events' && refusedFirst === 0) {
        refusedFirst++;
        res.writeHead(503).end('try later');
        return;
      }
      got.push({ path: req.url ?? '', body: JSON.parse(text) as Record<string, unknown>, type: req.headers['content-type'] ?? '' });
      res.writeHead(200).end('ok');
    });
  });
  await new Promise<void>((r) => sink.listen(0, '127.0.0.1', () => r()));
  sinkPort = (sink.address() as AddressInfo).port;
  hang = createTcpServer((s) => {
    hung.push(s);
    s.on('error', () => undefined);
  });
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
  const hangPort = (hang.address() as AddressInfo).port;
  fixtureRepo('static-site', app);
  fixtureRepo('crash-loop-app', crashy);
  const notify = `http://127.0.0.1:${hangPort}/never http://127.0.0.1:${sinkPort}/events http://127.0.0.1:${sinkPort}/hooks/team-a ftp://127.0.0.1/x not-a-url`;
  initRepo(hq, {
    '.starphleet': `export STARPHLEET_NOTIFY="${notify}"\n`,
    'site/orders': `autodeploy ${app}\n`,
    'crashy/orders': `autodeploy ${crashy}\n`,
  });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RUNTIME: 'process', STARPHLEET_RETRY_BASE: '600', STARPHLEET_MAX_CRASHES: '2', STARPHLEET_CRASH_BASE: '1' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
  await new Promise<void>((r) => sink?.close(() => r()));
  for (const s of hung) s.destroy();
  await new Promise<void>((r) => hang?.close(() => r()));
});

describe('the URL decides the body', () => {
  test('Slack, Mattermost and Discord incoming webhooks; everything else gets the event', () => {
    assert.equal(styleOf(new URL('https://hooks.slack.com/services/T0/B0/x')), 'slack');
    assert.equal(styleOf(new URL('https://chat.example.com/hooks/abc123')), 'slack');
    assert.equal(styleOf(new URL('https://discord.com/api/webhooks/1/tok')), 'discord');
    assert.equal(styleOf(new URL('https://discordapp.com/api/webhooks/1/tok')), 'discord');
    assert.equal(styleOf(new URL('https://example.com/hooks')), 'json', 'a bare /hooks is no incoming-webhook id');
    assert.equal(styleOf(new URL('https://discord.com.evil.example/api/webhooks/1/x')), 'json', 'only discord.com itself');
    assert.equal(styleOf(new URL('https://example.com/ci/events')), 'json');
    const p = parseTargets('https://a.example/x  gopher://b nope https://a.example/x', '.starphleet STARPHLEET_NOTIFY');
    assert.equal(p.targets.length, 1, 'duplicates once, bad words left out');
    assert.equal(p.targets[0]?.label, 'https://a.example', 'logs never show the path (a webhook path is its secret)');
    assert.deepEqual(p.problems.length, 2);
    assert.match(p.problems.join('\n'), /\.starphleet STARPHLEET_NOTIFY: only http and https/);
  });
});

describe('a loopback receiver', () => {
  test('the first deploy: started, then succeeded, in both forms; bad URLs are named in the log', async () => {
    await waitFor(() => site('/events').some((b) => b.event === 'deploy.succeeded'), 'deploy.succeeded at /events', 240_000, 200);
    await waitFor(() => site('/hooks/team-a').length >= 2, 'two texts at /hooks/team-a', 30_000, 200);
    const json = site('/events');
    assert.deepEqual(json.map((b) => b.event), ['deploy.started', 'deploy.succeeded']);
    assert.equal(json[0]?.ship, 'testship');
    assert.match(String(json[1]?.release), /^[0-9]{14}-[0-9a-f]{7}/);
    assert.equal(refusedFirst, 1, 'the first POST was refused with 503 and retried');
    const texts = site('/hooks/team-a');
    assert.deepEqual(Object.keys(texts[0] ?? {}), ['text'], 'Slack style: {text} only');
    assert.match(String(texts[0]?.text), /^testship: site: deploying [0-9a-f]{7}/);
    assert.match(String(texts[1]?.text), /^testship: site: release .* serves/);
    assert.ok(got.every((g) => g.type === 'application/json'));
    assert.match(ship.output(), /notify: \.starphleet STARPHLEET_NOTIFY: only http and https URLs are posted to, got ftp:\/\/127\.0\.0\.1; ignored/);
    assert.match(ship.output(), /notify: \.starphleet STARPHLEET_NOTIFY: not a URL: "not-a-url"; ignored/);
    assert.doesNotMatch(ship.output(), /team-a/, 'the webhook path is never logged');
    assert.ok(hung.length >= 1, 'the silent receiver was tried too (and held up nothing)');
  });

  test('a second deploy, a failed deploy and a rollback arrive in order, in both forms', async () => {
    commit(app, { 'index.html': '<h1>v2</h1>\n' });
    await waitFor(() => site('/events').filter((b) => b.event === 'deploy.succeeded').length === 2, 'second deploy.succeeded', 240_000, 200);
    // A buildpack that cannot be fetched fails the build; the release that serves keeps serving.
    commit(app, { '.env': `BUILDPACK_URL=${join(root, 'no-such-buildpack')}\n` });
    await waitFor(() => site('/events').some((b) => b.event === 'deploy.failed'), 'deploy.failed', 240_000, 200);
    const r = await cli(dataDir, 'rollback', 'site');
    assert.equal(r.code, 0, r.stderr + r.stdout);
    await waitFor(() => site('/events').some((b) => b.event === 'deploy.rolled_back'), 'deploy.rolled_back', 120_000, 200);
    await waitFor(() => site('/hooks/team-a').length >= 7, 'seven texts', 30_000, 200);
    const json = site('/events');
    assert.deepEqual(json.map((b) => b.event), ['deploy.started', 'deploy.succeeded', 'deploy.started', 'deploy.succeeded', 'deploy.started', 'deploy.failed', 'deploy.rolled_back']);
    const failed = json[5] ?? {};
    assert.match(String(failed.reason), /build failed/);
    const back = json[6] ?? {};
    assert.equal(back.release, json[1]?.release, 'rolled back to the first release');
    assert.match(String(back.reason), /^rollback by /);
    const texts = site('/hooks/team-a').map((b) => String(b.text));
    assert.equal(texts.length, 7);
    assert.match(texts[5] ?? '', /deploy of [0-9a-f]{7} FAILED: build failed/);
    assert.match(texts[6] ?? '', /rolled back to release /);
  });

  test('a release that keeps crashing is told once as a crash loop', async () => {
    const loop = await waitFor(() => events('/events').find((b) => b.event === 'service.crash_loop'), 'service.crash_loop', 120_000, 200);
    assert.equal(loop.service, 'crashy');
    assert.match(String(loop.reason), /exited.*crashed 3 times in a row/);
    const crashyEvents = events('/events').filter((b) => b.service === 'crashy').map((b) => b.event);
    assert.deepEqual(crashyEvents, ['deploy.started', 'deploy.succeeded', 'service.crash_loop']);
    await waitFor(() => events('/hooks/team-a').some((b) => /^testship: crashy: release .* is crash looping/.test(String(b.text))), 'crash loop text', 30_000, 200);
  });

  test('an HQ problem is told when it appears and when it clears', async () => {
    commit(hq, { 'broken/orders': 'autodeploy\nno_such_verb here\n' });
    const p = await waitFor(() => events('/events').find((b) => b.event === 'hq.problem'), 'hq.problem', 60_000, 200);
    assert.match(String(p.problem), /^broken\/orders/);
    commit(hq, { 'broken/orders': null });
    const c = await waitFor(() => events('/events').find((b) => b.event === 'hq.problem_cleared'), 'hq.problem_cleared', 60_000, 200);
    assert.equal(c.problem, p.problem);
    await waitFor(() => events('/hooks/team-a').some((b) => /HQ problem cleared: broken\/orders/.test(String(b.text))), 'cleared text', 30_000, 200);
  });
});
