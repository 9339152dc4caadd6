import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { cpSync, readFileSync } from 'node:fs';
import { globalAgent } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { FIXTURES, fixtureRepo } from '../../helpers/fixtures.js';
import { getText } from '../../helpers/http.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli, httpGet, statusJson } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';
import { pacedLoops } from '../../helpers/paced.js';
import { lifecycleEvents } from '../../helpers/lifecycle.js';

/**
 * Heroku-style process types through a real ship and the real Procfile buildpack: web (scaled to 2), worker and
 * release lines; a worker-only unpublished service; a failing release phase; ten deploys under load.
 */
const root = tmpDir('sp-lp-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
const jobs = join(root, 'jobs');
let ship: ShipProcess;

interface Row {
  name: string;
  state: string;
  sha: string | null;
  release: string | null;
  message: string;
  processes: Record<string, number>;
}

async function rows(): Promise<Row[]> {
  return (await statusJson<{ services: Row[] }>(dataDir)).services;
}

const row = async (name: string): Promise<Row | undefined> => (await rows()).find((r) => r.name === name);

/** `==> name <==` heads each log's lines, as tail(1) does: the text under each name (joined when a name comes again). */
/** `starphleet logs` output by label (web.1, worker.1, build): each `<label> | <line>` line, the label taken off. */
function sections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const at = line.indexOf(' | ');
    if (at < 0 || line.startsWith('==> ')) continue;
    const label = line.slice(0, at);
    m.set(label, `${m.get(label) ?? ''}${line.slice(at + 3)}\n`);
  }
  return m;
}

/** The lifecycle fixture's events on this ship (helpers/lifecycle.ts). */
const events = (): string[][] => lifecycleEvents(dataDir);

before(async () => {
  fixtureRepo('lifecycle-app', app);
  cpSync(join(FIXTURES, 'lifecycle-app'), jobs, { recursive: true });
  gitIn(jobs, 'init', '-q', '-b', 'master');
  commit(jobs, { Procfile: 'worker: node worker.js\n', VERSION: 'jobs-v1\n' });
  initRepo(hq, {
    'app/orders': `autodeploy ${app}\nscale web=2\nexport STARPHLEET_WORKER_UP=1\nexport HEALTHCHECK_TIMEOUT=120\nexport HELLO=$'Hello\\n \\'world\\''\n`,
    'workers/orders': `autodeploy ${jobs}\nunpublished\nexport STARPHLEET_WORKER_UP=1\n`,
  });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RETRY_BASE: '30' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

describe('Procfile process types', () => {
  test('web, worker and release: the release phase runs once, before any web instance of its release', async () => {
    await waitFor(async () => (await row('app'))?.state === 'serving', 'app serving', 180_000, 500);
    const ev = events().filter((e) => e[1] === 'v1');
    const releases = ev.filter((e) => e[0] === 'release');
    assert.equal(releases.length, 1, `one release phase: ${JSON.stringify(ev)}`);
    const webs = ev.filter((e) => e[0] === 'web');
    assert.equal(webs.length, 2, 'two web instances (scale web=2)');
    for (const w of webs) assert.ok(Number(w[3]) >= Number(releases[0]?.[3]), 'web started after the release phase');
    assert.equal(ev.filter((e) => e[0] === 'worker').length, 1, 'one worker');
    assert.deepEqual((await row('app'))?.processes, { web: 2, worker: 1 });
    const log = readFileSync(join(dataDir, 'logs', 'app', `build-${(await row('app'))?.release}.log`), 'utf8');
    assert.match(log, /Release phase: node release\.js/);
    assert.match(log, /migrations done/);
  });

  test('starphleet logs shows the output of each instance under its process type and number', async () => {
    const release = (await row('app'))?.release ?? '';
    const r = await cli(dataDir, 'logs', 'app', '-n', '400');
    assert.equal(r.code, 0, r.stderr);
    const shown = sections(r.stdout);
    assert.deepEqual([...shown.keys()], ['web.1', 'web.2', 'worker.1'], r.stdout);
    assert.ok(r.stdout.startsWith(`==> app release ${release} serves: web.1, web.2, worker.1 <==\n`), r.stdout);
    const build = await cli(dataDir, 'logs', 'app', '--build', '-n', '400');
    assert.equal(build.code, 0, build.stderr);
    assert.ok(build.stdout.startsWith(`==> build-${release}.log <==\n`), build.stdout);
    assert.match(sections(build.stdout).get('build') ?? '', /Release .* is ready/);
    const one = await cli(dataDir, 'logs', 'app', '--instance', 'web.2', '-n', '400');
    assert.deepEqual([...sections(one.stdout).keys()], ['web.2'], one.stdout);
    for (const w of ['web.1', 'web.2']) {
      const text = shown.get(w) ?? '';
      assert.match(text, new RegExp(`starphleet: started ${w.replace('.', '\\.')} of release ${release}`), text);
      assert.match(text, new RegExp(`^web v1 listening \\(DYNO=${w.replace('.', '\\.')}\\)$`, 'm'), text);
      assert.doesNotMatch(text, /worker v1 working/, 'only its own output');
    }
    const worker = shown.get('worker.1') ?? '';
    assert.match(worker, /starphleet: started worker\.1 of release/, worker);
    assert.match(worker, /^worker v1 working$/m, worker);
    assert.doesNotMatch(worker, /web v1 listening/, 'only its own output');
  });

  test('scale web=2: requests reach two distinct web instances; the worker is never routed', async () => {
    const ids = new Set<string>();
    for (let i = 0; i < 40 && ids.size < 2; i++) {
      const r = await httpGet(ship.httpPort, '/app/');
      assert.equal(r.status, 200);
      assert.match(r.body, /^web version=v1 instance=\w+ dyno=web/);
      ids.add(/instance=(\w+)/.exec(r.body)?.[1] ?? '');
    }
    assert.equal(ids.size, 2, `two instances answered: ${[...ids].join(', ')}`);
  });

  test('env values are byte-exact from the orders', async () => {
    const r = await httpGet(ship.httpPort, '/app/env');
    assert.equal(Buffer.from(r.body, 'hex').toString('utf8'), "Hello\n 'world'");
    assert.equal(Buffer.from(r.body, 'hex').length, 14);
  });

  test('a worker-only unpublished service is serving', async () => {
    const j = await waitFor(async () => {
      const r = await row('workers');
      return r?.state === 'serving' ? r : null;
    }, 'workers serving', 120_000, 500);
    assert.deepEqual(j.processes, { worker: 1 });
    assert.equal(events().filter((e) => e[0] === 'worker' && e[1] === 'jobs-v1').length, 1, 'its worker runs');
    assert.equal((await httpGet(ship.httpPort, '/workers/')).status, 404, 'not routed');
  });

  test('a failing release command leaves the old release serving, with the reason in status and releases', async () => {
    const sha = commit(app, { VERSION: 'v2\n', '.env': 'FAIL_RELEASE=1\n' });
    const failed = await waitFor(async () => {
      const r = await row('app');
      return r?.state === 'failed' && r.message.includes(sha.slice(0, 7)) ? r : null;
    }, 'the failing release phase', 120_000, 500);
    assert.match(failed.message, /release phase \(Procfile release: node release\.js\) failed \(exit 3\)/);
    assert.match(failed.message, /keeps serving/);
    assert.match((await httpGet(ship.httpPort, '/app/')).body, /version=v1/);
    assert.equal(events().filter((e) => e[1] === 'v2').length, 0, 'no instance of v2 started');
    const rel = await cli(dataDir, 'releases', 'app');
    assert.equal(rel.code, 0, rel.stderr);
    assert.match(rel.stdout, /failed deploys:\n.*release phase/);
  });

  test('ten deploys of web=2 + worker under continuous load: every one serves, no request fails', async () => {
    let requests = 0;
    let last = '';
    const failures: string[] = [];
    const load = pacedLoops(1, async () => {
      const r = await getText(ship.httpPort, '/app/', globalAgent);
      requests++;
      if (r instanceof Error) failures.push(r.message);
      else if (r.status !== 200) failures.push(`HTTP ${r.status}: ${r.body.slice(0, 100)}`);
      else last = /version=(\S+)/.exec(r.body)?.[1] ?? '';
    });
    try {
      for (let i = 3; i <= 12; i++) {
        commit(app, { VERSION: `v${i}\n`, '.env': '' });
        await waitFor(() => last === `v${i}`, `v${i} to serve`, 180_000, 50);
      }
      await waitFor(async () => (await row('app'))?.state === 'serving', 'app serving', 60_000, 500);
    } finally {
      await load.stop();
    }
    assert.deepEqual(failures, [], `${failures.length} of ${requests} requests failed`);
    assert.ok(requests > 100, `the client kept sending (${requests})`);
    assert.deepEqual((await row('app'))?.processes, { web: 2, worker: 1 });
    console.log(`# 10 deploys: ${requests} requests, ${failures.length} failed`);
  });

  test('logs -f follows the new instances of a deploy, each under its own type and number', async () => {
    const f = spawn(process.execPath, [...CLI_ARGS, 'logs', 'app', '-f', '-n', '0', '--data', dataDir], { cwd: fileURLToPath(new URL('../../..', import.meta.url)) });
    let out = '';
    f.stdout.on('data', (c: Buffer) => (out += c.toString('utf8')));
    const gone = new Promise((r) => f.once('exit', r));
    try {
      await waitFor(() => out.includes('==> '), 'logs -f to print its first heads', 60_000);
      commit(app, { VERSION: 'v13\n' });
      const release = await waitFor(async () => {
        const r = await row('app');
        return r?.state === 'serving' && r.sha !== null && /v13/.test((await httpGet(ship.httpPort, '/app/')).body) ? r.release : null;
      }, 'v13 serving', 180_000, 500);
      const want: [string, RegExp][] = [['web.1', /^web v13 listening/m], ['web.2', /^web v13 listening/m], ['worker.1', /^worker v13 working/m]];
      await waitFor(() => want.every(([w, re]) => re.test(sections(out).get(w) ?? '')), 'v13 output of web.1, web.2 and worker.1 followed', 60_000);
      assert.ok(out.includes(`==> app release ${release} serves: web.1, web.2, worker.1 <==`), 'the stream moved to the new release');
    } finally {
      f.kill('SIGTERM');
      await gone;
    }
  });
});
