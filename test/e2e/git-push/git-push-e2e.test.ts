import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { isSameProcess } from '../../../src/agent/runtime/proc.js';
import type { InstanceRecord } from '../../../src/state/instances.js';
import { FIXTURES, fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { Push, runGit } from '../../helpers/git-push.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * `git push ship master` with real git over OpenSSH against a real ship: the build streams back as it happens, the
 * test instance answers at the printed URL, Ctrl-C takes it away; a failed build rejects the push.
 */
const root = tmpDir('sp-git-push-');
const dataDir = join(root, 'data');
let ship: ShipProcess;
let admiral: TestKey;
let base: string;
const pushes: Push[] = [];

const URL_LINE = /answers at (http:\/\/127\.0\.0\.1:\d+\/([a-z0-9._-]+-[0-9a-f]{7})\/)/;

function push(repo: string, name: string, ...extra: string[]): Push {
  const p = new Push([...extra, `${base}/${name}`, 'master'], { cwd: repo, key: admiral.privatePath });
  pushes.push(p);
  return p;
}

function pathOf(url: string): string {
  return new URL(url).pathname;
}

function db<T>(fn: (d: Database.Database) => T): T {
  const d = new Database(join(dataDir, 'state.db'), { readonly: true, fileMustExist: true });
  try {
    return fn(d);
  } finally {
    d.close();
  }
}

function testInstances(name: string): InstanceRecord[] {
  return db((d) =>
    d.prepare('SELECT id, service, release, pid, start_time AS startTime, port, state FROM instances WHERE service = ?').all(`_push.${name}`),
  ) as InstanceRecord[];
}

interface PushRow {
  name: string;
  fingerprint: string;
  sha: string | null;
  ref: string | null;
  result: string;
  message: string;
}

function pushRows(name: string): PushRow[] {
  return db((d) => d.prepare('SELECT name, fingerprint, sha, ref, result, message FROM pushes WHERE name = ? ORDER BY id').all(name)) as PushRow[];
}

before(async () => {
  admiral = makeKey(root, 'admiral');
  const hq = join(root, 'hq');
  initRepo(hq, { 'authorized_keys/admiral': `${admiral.pub}\n`, '.starphleet': 'export GREETING=from-hq\n' });
  ship = await startShip({ headquarters: hq, dataDir });
  await ship.waitForLog(/ssh listening on/);
  await ship.waitForLog(/1 admirals/);
  base = `ssh://git@127.0.0.1:${ship.sshPort}`;
});

after(async () => {
  for (const p of pushes) p.interrupt();
  await Promise.all(pushes.map((p) => p.exited));
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe('git push ship master', () => {
  const app = join(root, 'app');
  let firstSha = '';

  it('streams the build as it happens, serves the test instance at the printed URL, and Ctrl-C removes it', async () => {
    fixtureRepo('node-app', app);
    // A build step that prints, waits a second, prints again: if the lines came at the end, they would come together.
    firstSha = commit(app, {
      'build.js': `const { writeFileSync } = require('node:fs');
console.log('streaming-probe before the pause');
setTimeout(() => {
  writeFileSync('built.txt', 'built by the push test\\n');
  console.log('streaming-probe after the pause');
}, 1500);
`,
    });
    const p = push(app, 'myapp');
    const before = await p.waitLine(/streaming-probe before the pause/);
    const afterPause = await p.waitLine(/streaming-probe after the pause/);
    const ready = await p.waitLine(/Release \S+ of _push\.myapp is ready/);
    assert.ok(afterPause.at - before.at >= 700, `build lines must arrive as they are printed (gap ${afterPause.at - before.at} ms):\n${p.text()}`);
    assert.ok(before.at < ready.at, 'build lines arrive before the build ends');
    assert.match(before.text, /^remote: /);

    const urlLine = await p.waitLine(URL_LINE);
    const [, url = '', mount = ''] = URL_LINE.exec(urlLine.text) ?? [];
    assert.equal(mount, `myapp-${firstSha.slice(0, 7)}`);
    // The URL and the Ctrl-C reminder are the last lines of the start (the instance's log follows them).
    const i = p.lines.indexOf(urlLine);
    await waitFor(() => p.lines[i + 1], 'the line after the URL');
    assert.match(p.lines[i + 1]?.text ?? '', /Ctrl-C stops the test instance/);

    const r = await httpGet(ship.httpPort, pathOf(url));
    assert.equal(r.status, 200, r.body);
    assert.match(r.body, /node-app fixture says hello/);
    assert.match(r.body, /built=built by the push test/);
    assert.match(r.body, /GREETING=from-hq/, 'HQ .starphleet env applies to test builds');
    assert.match(r.body, /path=\/\n/, 'the mount is stripped');

    const status = (await httpGet(ship.httpPort, '/starphleet/status')).body;
    assert.doesNotMatch(status, /_push|myapp/, 'a test instance is not an HQ service');

    const [rec] = testInstances('myapp');
    assert.ok(rec && isSameProcess(rec), 'the test instance runs and is recorded');
    assert.equal(p.child.exitCode, null, 'git push keeps the session open while the instance serves');

    const killedAt = Date.now();
    p.interrupt();
    await waitFor(async () => (await httpGet(ship.httpPort, pathOf(url))).status === 404, 'the route to go', 5000, 50);
    await waitFor(() => testInstances('myapp').length === 0 && !isSameProcess(rec), 'the instance to stop', Math.max(100, 5000 - (Date.now() - killedAt)), 50);
    assert.ok(Date.now() - killedAt <= 5000);

    // The session records the push as stopped just after the instance is gone.
    await waitFor(() => pushRows('myapp')[0]?.result === 'stopped', () => `the push recorded as stopped: ${JSON.stringify(pushRows('myapp'))}`, 10_000, 50);
    const rows = pushRows('myapp');
    assert.equal(rows.length, 1);
    assert.deepEqual({ ...rows[0], message: undefined }, { name: 'myapp', fingerprint: admiral.fingerprint, sha: firstSha, ref: 'refs/heads/master', result: 'stopped', message: undefined });
  });

  it('git clone fetches what was pushed (protocol v2)', async () => {
    const dest = join(root, 'clone');
    const r = await runGit(['clone', `${base}/myapp`, dest], { cwd: root, key: admiral.privatePath, env: { GIT_TRACE_PACKET: join(root, 'packet-trace') } });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(gitIn(dest, 'rev-parse', 'HEAD'), firstSha);
    assert.equal(gitIn(dest, 'rev-parse', '--abbrev-ref', 'HEAD'), 'master');
    assert.ok(existsSync(join(dest, 'server.js')));
    const trace = readFileSync(join(root, 'packet-trace'), 'utf8');
    assert.match(trace, /version 2/, 'GIT_PROTOCOL reaches upload-pack');
    const viaDotGit = await runGit(['ls-remote', `${base}/myapp.git`], { cwd: root, key: admiral.privatePath });
    assert.match(viaDotGit.stdout, new RegExp(`^${firstSha}\\trefs/heads/master$`, 'm'));
  });

  it('a failed build rejects the push: the error is shown, git exits non-zero, the ref does not move', async () => {
    commit(app, { 'package.json': readFileSync(join(FIXTURES, 'bad-build', 'package.json'), 'utf8') });
    const p = push(app, 'myapp');
    const code = await p.exited;
    assert.notEqual(code, 0, p.text());
    assert.match(p.text(), /remote: .*bad-build fixture: this build fails on purpose/);
    assert.match(p.text(), /pre-receive hook declined/);
    assert.match(p.text(), /the push is rejected/);
    const r = await runGit(['ls-remote', `${base}/myapp`], { cwd: root, key: admiral.privatePath });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^${firstSha}\\trefs/heads/master$`, 'm'));
    const rows = pushRows('myapp');
    assert.equal(rows.at(-1)?.result, 'rejected');
    assert.notEqual(rows.at(-1)?.sha, firstSha);
    assert.match(rows.at(-1)?.message ?? '', /build of myapp/);
  });

  it('pushes of different names run side by side; a second push of a name replaces its first instance', async () => {
    const one = join(root, 'one');
    const two = join(root, 'two');
    const oneSha = fixtureRepo('node-app', one);
    fixtureRepo('node-app', two);
    const twoSha = commit(two, { '.env': 'GREETING=two\n' });
    const p1 = push(one, 'one');
    const p2 = push(two, 'two');
    const url1 = URL_LINE.exec((await p1.waitLine(URL_LINE)).text)?.[1] ?? '';
    const url2 = URL_LINE.exec((await p2.waitLine(URL_LINE)).text)?.[1] ?? '';
    assert.equal(pathOf(url1), `/one-${oneSha.slice(0, 7)}/`);
    assert.equal(pathOf(url2), `/two-${twoSha.slice(0, 7)}/`);
    for (const u of [url1, url2]) assert.equal((await httpGet(ship.httpPort, pathOf(u))).status, 200);
    const [first] = testInstances('one');
    assert.ok(first);

    const newSha = commit(one, { 'message.txt': 'second push\n' });
    const p3 = push(one, 'one');
    const url3 = URL_LINE.exec((await p3.waitLine(URL_LINE)).text)?.[1] ?? '';
    assert.equal(pathOf(url3), `/one-${newSha.slice(0, 7)}/`);
    // The first push ends by itself, successfully, once its instance was replaced; git then prints its summary.
    assert.equal(await p1.exited, 0, p1.text());
    assert.match(p1.text(), /A newer push of one replaced this test instance/);
    assert.match(p1.text(), /\[new branch\]\s+master -> master/);
    assert.equal((await httpGet(ship.httpPort, pathOf(url1))).status, 404);
    assert.ok(!isSameProcess(first), 'the replaced instance is stopped');
    assert.equal((await httpGet(ship.httpPort, pathOf(url3))).status, 200);
    assert.equal((await httpGet(ship.httpPort, pathOf(url2))).status, 200, 'the other name keeps serving');
    // Env precedence as in autodeploy: HQ .starphleet over the repo's .env.
    assert.match((await httpGet(ship.httpPort, pathOf(url2))).body, /GREETING=from-hq/);
    assert.equal(testInstances('one').length, 1);

    p2.interrupt();
    p3.interrupt();
    // Each session records its push as stopped once its instance is gone: both are waited for (CI's slow machine).
    await waitFor(() => testInstances('one').length + testInstances('two').length === 0, 'both test instances to stop', 15_000, 50);
    await waitFor(() => pushRows('one').every((r) => r.result === 'stopped'), () => `both pushes of one recorded as stopped: ${JSON.stringify(pushRows('one'))}`, 15_000, 50);
    assert.deepEqual(pushRows('one').map((r) => r.result), ['stopped', 'stopped']);
  });

  it('Ctrl-C during the build cancels the build and leaves no ref', async () => {
    const slow = join(root, 'slow');
    fixtureRepo('node-app', slow);
    commit(slow, { 'build.js': "console.log('slow build started'); setTimeout(() => console.log('slow build done'), 60000);\n" });
    const p = push(slow, 'slow');
    await p.waitLine(/slow build started/);
    p.interrupt();
    const logs = join(dataDir, 'logs', '_push.slow');
    await waitFor(() => {
      const log = readdirSync(logs).find((f) => f.startsWith('build-'));
      return log && /build failed: build cancelled/.test(readFileSync(join(logs, log), 'utf8'));
    }, 'the build to be cancelled', 15_000);
    const r = await runGit(['ls-remote', `${base}/slow`], { cwd: root, key: admiral.privatePath });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '', 'no ref was accepted');
    await waitFor(() => pushRows('slow')[0]?.result === 'rejected', 'the push to be recorded as rejected', 5000);
    assert.doesNotMatch(p.text(), /slow build done/);
  });

  it('records each git session in the SSH audit too', () => {
    const rows = db((d) => d.prepare("SELECT user, fingerprint, command, exit_code AS exitCode FROM audit WHERE user = 'git' AND kind = 'exec'").all()) as { user: string; fingerprint: string; command: string; exitCode: number | null }[];
    assert.ok(rows.some((r) => r.command === "git-receive-pack '/myapp'" && r.fingerprint === admiral.fingerprint), JSON.stringify(rows));
    assert.ok(rows.some((r) => r.command === "git-upload-pack '/myapp'" && r.exitCode === 0), JSON.stringify(rows));
  });

  it('all these pushes and followed test-instance logs left no MaxListenersExceededWarning in the ship log', () => {
    // Each test instance's log was followed for seconds (a sleep every 200 ms on one signal): listeners must not pile up.
    assert.ok(pushes.length >= 4);
    assert.doesNotMatch(ship.output(), /MaxListenersExceededWarning|Possible EventTarget memory leak/);
  });
});
