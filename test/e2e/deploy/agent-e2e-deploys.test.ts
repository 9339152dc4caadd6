import assert from 'node:assert/strict';
import { globalAgent } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { getText } from '../../helpers/http.js';
import { commit, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { cli, commitFixture, httpGet, statusServices, type ServiceRow } from '../../helpers/phleet.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';
import { pacedLoops } from '../../helpers/paced.js';

/**
 * New commits through a real ship while a client sends requests without pause through the front door: five deploys
 * and three kinds of failed deploy, and not one request fails.
 */
const root = tmpDir('sp-e2e-deploys-');
const dataDir = join(root, 'data');
const hq = join(root, 'hq');
const app = join(root, 'app');
let ship: ShipProcess;

before(async () => {
  fixtureRepo('node-app', app);
  commit(app, { '.env': 'GREETING=v0\n' });
  // 20 s to become healthy: in one CI run on a loaded machine, v0 needed more than 4 s to listen and its deploy failed.
  initRepo(hq, { 'app/orders': `autodeploy ${app}\nexport HEALTHCHECK_TIMEOUT=20\n` });
  ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, env: { STARPHLEET_RETRY_BASE: '30' } });
});

after(async () => {
  await ship?.stop();
  await killRecordedInstances(dataDir);
});

/** A client that GETs /app/ on a kept-alive connection (paced: helpers/paced.ts) and counts what it got. */
class Client {
  requests = 0;
  failures: string[] = [];
  greetings = new Set<string>();
  last = '';
  private readonly loop: { stop(): Promise<void> };
  constructor(port: number) {
    this.loop = pacedLoops(1, async () => {
      const r = await getText(port, '/app/', globalAgent);
      this.requests++;
      if (r instanceof Error) this.failures.push(r.message);
      else if (r.status !== 200) this.failures.push(`HTTP ${r.status}: ${r.body.slice(0, 200)}`);
      else {
        this.last = /GREETING=(.*)/.exec(r.body)?.[1] ?? '';
        this.greetings.add(this.last);
      }
    });
  }
  stop(): Promise<void> {
    return this.loop.stop();
  }
}

async function row(): Promise<ServiceRow | undefined> {
  return (await statusServices(dataDir)).find((r) => r.name === 'app');
}

describe('deploys under load', () => {
  let client: Client;

  test('v0 serves', async () => {
    await waitFor(async () => /GREETING=v0/.test((await httpGet(ship.httpPort, '/app/')).body), 'v0', 120_000, 250);
    client = new Client(ship.httpPort);
  });

  test('five consecutive deploys with requests flowing: every one is served, none fails', async () => {
    for (let i = 1; i <= 5; i++) {
      const sha = commit(app, { '.env': `GREETING=v${i}\n` });
      await waitFor(() => client.last === `v${i}`, `v${i} to serve`, 120_000, 50);
      await waitFor(async () => (await row())?.sha === sha && (await row())?.state === 'serving', `status of v${i}`, 30_000);
    }
    assert.deepEqual(client.failures, [], `${client.failures.length} of ${client.requests} requests failed`);
    assert.ok(client.requests > 50, `the client kept sending (${client.requests} requests)`);
    for (let i = 0; i <= 5; i++) assert.ok(client.greetings.has(`v${i}`), `v${i} was served`);
  });

  for (const [fixture, reason, logLine] of [
    ['bad-build', /build failed/, /bad-build fixture: this build fails on purpose/],
    ['never-healthy', /health check \/ failed: HTTP 503 on 5 consecutive tries|healthcheck \/ got no 200 within 20 s \(last: HTTP 503\)/, /starphleet: failed: health ?check/],
    ['crash-at-start', /instance exited before answering/, /crash-at-start fixture: exiting at once/],
  ] as const) {
    test(`a commit that is ${fixture} leaves v5 serving, shows failed in status and the reason in logs`, async () => {
      const sha = commitFixture(app, fixture);
      const failed = await waitFor(async () => {
        const r = await row();
        return r?.state === 'failed' && r.message.includes(sha.slice(0, 7)) ? r : null;
      }, `${fixture} to fail`, 120_000);
      assert.match(failed.message, reason);
      assert.match(failed.message, /keeps serving/);
      assert.match((await httpGet(ship.httpPort, '/app/')).body, /GREETING=v5/);
      // logs shows what serves (v5) and says where the failed deploy's output is; that command shows it.
      const serving = await cli(dataDir, 'logs', 'app', '-n', '400');
      assert.equal(serving.code, 0, serving.stderr);
      assert.doesNotMatch(serving.stdout, logLine);
      const where = /^==> the last deploy \([0-9a-f]{7}\) failed: its output is in starphleet logs app (--release \S+|--build) <==$/m.exec(serving.stdout);
      assert.ok(where, serving.stdout);
      const logs = await cli(dataDir, 'logs', 'app', ...(where[1] as string).split(' '), '-n', '400');
      assert.equal(logs.code, 0, logs.stderr);
      assert.match(logs.stdout, logLine);
      assert.deepEqual(client.failures, [], 'no request failed meanwhile');
    });
  }

  test('a good commit after the failures deploys at once, still without a failed request', async () => {
    commitFixture(app, 'node-app', { '.env': 'GREETING=v6\n' });
    await waitFor(() => client.last === 'v6', 'v6 to serve', 120_000, 50);
    await client.stop();
    assert.deepEqual(client.failures, [], `${client.failures.length} of ${client.requests} requests failed`);
    // The route moves first; status says serving once the switch is recorded, moments later.
    await waitFor(async () => (await row())?.state === 'serving', 'status to say serving', 30_000);
  });
});
