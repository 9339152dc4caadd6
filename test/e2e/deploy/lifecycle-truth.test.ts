import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet, statusJson } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/**
 * What the admiral sees is true (#32), on a real ship driven over real OpenSSH: `logs` shows the instances that serve
 * (both of a `scale web=2` service, after two deploys), `releases` says each release's state and who deployed it (the
 * admiral's key after a rollback over SSH), `unpin` after a rollback builds nothing, and a crash-looping commit leaves
 * one release however often it is retried.
 */
const root = tmpDir('sp-truth-');
const dataDir = join(root, 'data');
const app = join(root, 'app');
let ship: ShipProcess;
let alice: TestKey;

interface Row {
  name: string;
  state: string;
  sha: string | null;
  release: string | null;
  message: string;
  pin: { release: string } | null;
}

async function row(): Promise<Row | undefined> {
  return (await statusJson<{ services: Row[] }>(dataDir)).services.find((s) => s.name === 'app');
}

/** `ssh alice@ship starphleet ...` with the real OpenSSH client. */
async function asAlice(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const r = await runSsh({ key: alice.privatePath, port: ship.sshPort, args: ['starphleet', ...args], timeoutMs: 180_000 });
  return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
}

const buildLogs = (): string[] => readdirSync(join(dataDir, 'logs', 'app')).filter((f) => f.startsWith('build-')).sort();

interface ReleaseJson {
  id: string;
  sha: string;
  state: string;
  deployedBy: string;
}

async function releases(): Promise<{ text: string; list: ReleaseJson[] }> {
  const text = await asAlice('releases', 'app');
  assert.equal(text.code, 0, text.stderr);
  const json = await asAlice('releases', 'app', '--json');
  assert.equal(json.code, 0, json.stderr);
  return { text: text.stdout, list: (JSON.parse(json.stdout) as { releases: ReleaseJson[] }).releases };
}

async function serves(version: string): Promise<Row> {
  await waitFor(async () => (await httpGet(ship.httpPort, '/app/')).body === `version=${version}\n`, `${version} to answer`, 180_000, 300);
  return waitFor(async () => {
    const r = await row();
    return r?.state === 'serving' && r.release ? r : null;
  }, `status to say ${version} serves`, 60_000, 300);
}

before(async () => {
  alice = makeKey(root, 'alice');
  fixtureRepo('truth-app', app);
  initRepo(join(root, 'hq'), { 'authorized_keys/alice': `${alice.pub}\n`, 'app/orders': `autodeploy ${app}\nscale web=2\n` });
  ship = await startShip({
    headquarters: join(root, 'hq'),
    dataDir,
    pulse: 0.5,
    env: { STARPHLEET_RUNTIME: 'process', STARPHLEET_RETRY_BASE: '1', STARPHLEET_RETRY_MAX: '4', STARPHLEET_DRAIN_TIMEOUT: '2', STARPHLEET_STOP_GRACE: '2' },
  });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe('what the admiral sees is true', { timeout: 900_000 }, () => {
  let v1 = '';
  let v2 = '';

  test('after two deploys of a scale web=2 service, logs shows exactly the two serving instances', async () => {
    v1 = (await serves('v1')).release ?? '';
    commit(app, { VERSION: 'v2\n' });
    v2 = (await serves('v2')).release ?? '';
    assert.notEqual(v1, v2);
    for (let i = 0; i < 6; i++) assert.equal((await httpGet(ship.httpPort, `/app/marker-${i}`)).status, 200);
    // Old instances note their stop after the switch (the newest lines of the dir): not what logs shows.
    await waitFor(() => readdirSync(join(dataDir, 'logs', 'app')).some((f) => f.startsWith(`instance-${v1}`)), 'v1 logs', 10_000);
    const r = await asAlice('logs', 'app', '-n', '400');
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines[0], `==> app release ${v2} serves: web.1, web.2 <==`);
    const body = lines.slice(1);
    assert.ok(body.length > 0);
    for (const l of body) assert.match(l, /^web\.[12] \| /, `only the serving instances' lines, labelled: ${l}`);
    for (const w of ['web.1', 'web.2']) {
      assert.ok(body.some((l) => l.startsWith(`${w} | web v2 listening (DYNO=${w})`)), `${w}'s start:\n${r.stdout}`);
      assert.ok(body.some((l) => l.startsWith(`${w} | `) && l.includes(`starphleet: started ${w} of release ${v2}`)), r.stdout);
    }
    assert.ok(body.some((l) => / web v2 hit \/marker-/.test(l)), 'the requests they served');
    assert.doesNotMatch(r.stdout, /\bv1\b|stopping \(replaced/, 'nothing of the replaced release');
    const one = await asAlice('logs', 'app', '--instance', 'web.2', '-n', '400');
    assert.ok(one.stdout.trimEnd().split('\n').slice(1).every((l) => l.startsWith('web.2 | ')), one.stdout);
    const old = await asAlice('logs', 'app', '--release', v1, '-n', '400');
    assert.match(old.stdout, /web\.1 \| web v1 listening/);
    assert.match(old.stdout, /stopping \(replaced by release/, 'the replaced release is there when asked for');
  });

  test('a rollback over ssh: releases says pinned, retired, and the admiral key that rolled back', async () => {
    const rb = await asAlice('rollback', 'app');
    assert.equal(rb.code, 0, rb.stderr);
    await serves('v1');
    const { text, list } = await releases();
    const byId = new Map(list.map((x) => [x.id, x]));
    assert.equal(byId.get(v1)?.state, 'pinned');
    assert.equal(byId.get(v1)?.deployedBy, `rollback by admiral alice ${alice.fingerprint}`);
    assert.equal(byId.get(v2)?.state, 'retired');
    assert.match(byId.get(v2)?.deployedBy ?? '', /^new sha, was [0-9a-f]{7}; HQ [0-9a-f]{7}$/, 'a pulse deploy names the HQ commit');
    assert.match(byId.get(v1)?.deployedBy ?? '', /alice/);
    assert.match(text, new RegExp(`^${v1} +[0-9a-f]{7} +\\S+ +pinned +rollback by admiral alice ${alice.fingerprint.replace(/[+/]/g, '\\$&')}$`, 'm'), text);
    assert.match(text, new RegExp(`^${v2} +[0-9a-f]{7} +\\S+ +retired +new sha`, 'm'), text);
    assert.match(text, new RegExp(`pinned to ${v1} since \\S+ by admiral alice ${alice.fingerprint.replace(/[+/]/g, '\\$&')}`));
    assert.doesNotMatch(text, /local cli/);
    const audit = await asAlice('audit');
    assert.match(audit.stdout, /starphleet rollback app/);
  });

  test('unpin after the rollback builds nothing: the release of v2 serves again, no new build log', async () => {
    const builds = buildLogs();
    assert.equal(builds.length, 2, builds.join(' '));
    const r = await asAlice('unpin', 'app');
    assert.equal(r.code, 0, r.stderr);
    const now = await serves('v2');
    assert.equal(now.release, v2, 'the same release, not a rebuild of its sha');
    assert.deepEqual(buildLogs(), builds, 'no build ran');
    assert.match(ship.output(), new RegExp(`app: release ${v2} was built from these same inputs: reused, nothing is built`));
    const { list } = await releases();
    assert.equal(list.length, 2);
    const mine = list.find((x) => x.id === v2);
    assert.equal(mine?.state, 'serving');
    assert.match(mine?.deployedBy ?? '', new RegExp(`; unpin by admiral alice ${alice.fingerprint.replace(/[+/]/g, '\\$&')}$`));
    assert.equal(list.find((x) => x.id === v1)?.state, 'retired');
    // The release's files hold its first run too; logs shows the instances that serve now, from their start.
    const l = await asAlice('logs', 'app', '-n', '400');
    assert.doesNotMatch(l.stdout, /stopping \(replaced/, l.stdout);
    for (const w of ['web.1', 'web.2']) assert.equal(l.stdout.split('\n').filter((x) => x.startsWith(`${w} | `) && x.includes(`starphleet: started ${w} `)).length, 1, l.stdout);
  });

  test('a crash-looping deploy is retried by restarting its one release: v2 keeps serving', async () => {
    const sha = commit(app, { VERSION: 'v3\n', CRASH: 'yes\n' });
    // The first deploy and at least three retries, all failed.
    await waitFor(async () => {
      const { list } = await releases();
      const failedDeploys = (JSON.parse((await asAlice('releases', 'app', '--json')).stdout) as { failed: { sha: string }[] }).failed.filter((f) => f.sha === sha);
      return failedDeploys.length >= 4 && list.some((x) => x.sha === sha) ? true : null;
    }, 'four failed deploys of the crashing commit', 300_000, 1000);
    const { list, text } = await releases();
    const crashing = list.filter((x) => x.sha === sha);
    assert.equal(crashing.length, 1, `one release for every try:\n${text}`);
    assert.equal(crashing[0]?.state, 'failed');
    assert.equal(buildLogs().length, 3, 'v1, v2 and the crashing one: built once');
    assert.match(text, /\[retry \d+ of [0-9a-f]{7}; HQ [0-9a-f]{7}\]/, 'the retries say they are retries');
    assert.equal((await httpGet(ship.httpPort, '/app/')).body, 'version=v2\n', 'v2 serves all along');
    const hint = await asAlice('logs', 'app');
    assert.match(hint.stdout, new RegExp(`==> the last deploy \\(${sha.slice(0, 7)}\\) failed: its output is in starphleet logs app --release ${crashing[0]?.id} <==`));
    const failedOut = await asAlice('logs', 'app', '--release', crashing[0]?.id ?? '');
    assert.match(failedOut.stdout, /web v3 crashing on purpose/);
  });
});
