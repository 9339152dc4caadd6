import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { globalAgent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { getText } from '../../helpers/http.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { runSsh } from '../../helpers/ssh.js';
import { cli, httpGet, statusJson } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';
import { pacedLoops } from '../../helpers/paced.js';
import { lifecycleEvents } from '../../helpers/lifecycle.js';

/**
 * app.json startup checks (content, definite answers failing fast, malformed JSON), rollback and its pin under load,
 * and a one-off `starphleet run`, through a real ship and the real Procfile buildpack.
 */
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));
const root = tmpDir('sp-lr-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
const checked = join(root, 'chk');
let ship: ShipProcess;
let key: TestKey;

interface Row {
  name: string;
  state: string;
  sha: string | null;
  release: string | null;
  message: string;
  processes: Record<string, number>;
  pin: { release: string } | null;
}

async function row(name: string): Promise<Row | undefined> {
  return (await statusJson<{ services: Row[] }>(dataDir)).services.find((s) => s.name === name);
}

const WEB_ONLY = { Procfile: 'web: node web.js\n' };
const CHECKS = JSON.stringify({
  name: 'x',
  healthchecks: { web: [{ type: 'startup', path: '/health', content: 'ready', attempts: 3, wait: 1 }] },
  scripts: { dokku: { predeploy: 'node script.js predeploy', postdeploy: 'node script.js postdeploy' } },
  cron: [{ command: 'node script.js cron', schedule: '* * * * *' }],
  unknown: { ignored: true },
});

/** The lifecycle fixture's events on this ship (helpers/lifecycle.ts). */
const events = (): string[][] => lifecycleEvents(dataDir);

before(async () => {
  fixtureRepo('lifecycle-app', app);
  commit(app, WEB_ONLY);
  fixtureRepo('lifecycle-app', checked);
  commit(checked, { ...WEB_ONLY, 'app.json': CHECKS });
  key = makeKey(root, 'admiral');
  initRepo(hq, {
    'authorized_keys/admiral': `${key.pub}\n`,
    'app/orders': `autodeploy ${app}\nexport HEALTHCHECK_TIMEOUT=120\nexport HELLO=from-orders\n`,
    'chk/orders': `autodeploy ${checked}\nexport HEALTHCHECK_TIMEOUT=900\n`,
  });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RETRY_BASE: '600' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

async function failedWith(name: string, sha: string): Promise<Row> {
  return waitFor(async () => {
    const r = await row(name);
    return r?.state === 'failed' && r.message.includes(sha.slice(0, 7)) ? r : null;
  }, `${name} at ${sha.slice(0, 7)} to fail`, 300_000, 500);
}

describe('app.json health checks', () => {
  test('the checked app serves when /health has the content', async () => {
    await waitFor(async () => (await row('chk'))?.state === 'serving', 'chk serving', 180_000, 500);
  });

  test('predeploy writes into the release; postdeploy runs once it serves; cron runs as a one-off on schedule', async () => {
    assert.equal((await httpGet(ship.httpPort, '/chk/predeploy')).body, 'written by predeploy\n');
    await waitFor(() => events().some((e) => e[0] === 'postdeploy'), 'postdeploy', 60_000, 500);
    await waitFor(() => events().some((e) => e[0] === 'cron'), 'a cron run (each minute)', 150_000, 1000);
  });

  test('a release that answers the wrong body is rejected; the old one keeps serving', async () => {
    const sha = commit(checked, { '.env': 'MODE=wrong\n' });
    const r = await failedWith('chk', sha);
    assert.match(r.message, /health check \/health failed: HTTP 200 without "ready" in its body on 3 consecutive tries, 1 s apart/);
    assert.match(r.message, /keeps serving/);
    assert.equal((await httpGet(ship.httpPort, '/chk/health')).body, 'ready\n');
  });

  test('a release that answers 404 fails after its attempts, long before HEALTHCHECK_TIMEOUT', async () => {
    const t0 = Date.now();
    const sha = commit(checked, { '.env': 'MODE=404\n' });
    const r = await failedWith('chk', sha);
    assert.match(r.message, /HTTP 404 on 3 consecutive tries/);
    console.log(`# 404 release failed ${((Date.now() - t0) / 1000).toFixed(1)} s after its commit (HEALTHCHECK_TIMEOUT=900)`);
  });

  test('malformed app.json fails the deploy naming the file and position', async () => {
    const sha = commit(checked, { '.env': '', 'app.json': '{\n  "healthchecks": {\n    "web": [,]\n' });
    const r = await failedWith('chk', sha);
    assert.match(r.message, /app\.json:3:\d+: not valid JSON/);
  });
});

describe('rollback and one-offs', () => {
  let v1 = '';

  test('v1 then v2 serve', async () => {
    await waitFor(async () => /version=v1/.test((await httpGet(ship.httpPort, '/app/')).body), 'v1', 180_000, 500);
    v1 = (await row('app'))?.release ?? '';
    commit(app, { VERSION: 'v2\n' });
    await waitFor(async () => /version=v2/.test((await httpGet(ship.httpPort, '/app/')).body), 'v2', 180_000, 500);
    await waitFor(async () => (await row('app'))?.state === 'serving', 'v2 serving', 60_000, 500);
  });

  test('rollback under continuous load: v1 answers again, no request fails, status and releases show the pin', async () => {
    let requests = 0;
    let v1At = 0;
    const failures: string[] = [];
    const load = pacedLoops(1, async () => {
      const r = await getText(ship.httpPort, '/app/', globalAgent);
      requests++;
      if (r instanceof Error) failures.push(r.message);
      else if (r.status !== 200) failures.push(`HTTP ${r.status}`);
      else if (v1At === 0 && /version=v1/.test(r.body)) v1At = Date.now();
    });
    const t0 = Date.now();
    const rb = await cli(dataDir, 'rollback', 'app');
    await waitFor(() => v1At > 0, 'v1 to answer', 120_000, 20);
    await load.stop();
    assert.equal(rb.code, 0, rb.stderr);
    assert.match(rb.stdout, new RegExp(`release ${v1} .* serves \\(switched in [0-9.]+ s\\); pinned`));
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    console.log(`# rollback: v1 answered ${((v1At - t0) / 1000).toFixed(2)} s after the CLI started (${/switched in [0-9.]+ s/.exec(rb.stdout)?.[0]} on the ship), ${requests} requests, 0 failed`);
    const s = await row('app');
    assert.equal(s?.pin?.release, v1);
    assert.equal(s?.release, v1);
    const rel = await cli(dataDir, 'releases', 'app');
    assert.equal(rel.code, 0, rel.stderr);
    assert.match(rel.stdout, new RegExp(`^${v1} +[0-9a-f]{7} +\\S+ +pinned +rollback by local cli$`, 'm'));
    // A pulse or two later the pin still holds: the ref did not move.
    await new Promise((r) => setTimeout(r, 3000));
    assert.match((await httpGet(ship.httpPort, '/app/')).body, /version=v1/);
  });

  test('run: a one-off of the serving release with its env, stdin and exit code', async () => {
    const child = spawn(process.execPath, [...CLI_ARGS, 'run', 'app', '--data', dataDir, '--', 'bash', '-c', 'read line; echo "$line $HELLO $DYNO $(cat VERSION)"; exit 7'], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdin.end('hello-stdin\n');
    const code = await new Promise<number | null>((r) => child.once('close', (c) => r(c)));
    assert.equal(code, 7, err);
    assert.equal(out, 'hello-stdin from-orders run.1 v1\n');
    const audit = await cli(dataDir, 'audit');
    assert.match(audit.stdout, /starphleet run app/);
  });

  test('run over ssh admiral@ship: with -tt the one-off has a terminal; without, stdin and the exit code pass', async () => {
    const tty = await runSsh({ key: key.privatePath, port: ship.sshPort, options: ['-tt'], args: ['starphleet', 'run', 'app', '--', 'bash', '-c', '"[ -t 0 ] && [ -t 1 ] && echo has-a-tty; exit 5"'], timeoutMs: 120_000 });
    assert.equal(tty.code, 5, tty.stderr);
    assert.match(tty.stdout.toString(), /has-a-tty/);
    const input = join(root, 'stdin.txt');
    writeFileSync(input, 'over-ssh\n');
    const plain = await runSsh({ key: key.privatePath, port: ship.sshPort, stdin: input, args: ['starphleet', 'run', 'app', '--', 'bash', '-c', '"[ -t 0 ] || echo no-tty; cat; exit 6"'], timeoutMs: 120_000 });
    assert.equal(plain.code, 6, plain.stderr);
    assert.equal(plain.stdout.toString(), 'no-tty\nover-ssh\n');
  });

  test('unpin: the service follows its ref again', async () => {
    const r = await cli(dataDir, 'unpin', 'app');
    assert.equal(r.code, 0, r.stderr);
    await waitFor(async () => /version=v2/.test((await httpGet(ship.httpPort, '/app/')).body), 'v2 again', 180_000, 500);
    assert.equal((await row('app'))?.pin, null);
    assert.equal((await cli(dataDir, 'unpin', 'app')).code, 1, 'not pinned any more');
  });

  test('a new commit on the ref deploys and clears the pin', async () => {
    await waitFor(async () => (await row('app'))?.state === 'serving', 'serving', 60_000, 500);
    const rb = await cli(dataDir, 'rollback', 'app', v1);
    assert.equal(rb.code, 0, rb.stderr);
    assert.equal((await row('app'))?.pin?.release, v1);
    commit(app, { VERSION: 'v3\n' });
    await waitFor(async () => /version=v3/.test((await httpGet(ship.httpPort, '/app/')).body), 'v3', 180_000, 500);
    assert.equal((await row('app'))?.pin, null);
  });
});
