import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { waitServes } from '../../helpers/http.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { cli } from '../../helpers/phleet.js';
import { PLANES } from '../../helpers/planes.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { runSsh } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { sleep, waitFor } from '../../helpers/wait.js';
import { pacedLoops } from '../../helpers/paced.js';

/** One GET on a fresh connection from a given local address; its status and body, or the error. */
function get(port: number, path: string, o: { auth?: string; from?: string } = {}): Promise<{ status: number; body: string } | Error> {
  return new Promise((resolve) => {
    const headers: Record<string, string> = o.auth ? { authorization: `Basic ${Buffer.from(o.auth).toString('base64')}` } : {};
    const req = request({ host: '127.0.0.1', port, path, headers, agent: false, timeout: 30_000, ...(o.from ? { localAddress: o.from } : {}) }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', resolve);
    });
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', resolve);
    req.end();
  });
}

/** Paced loops of requests until stop(): what they saw. */
function paced(n: number, everyMs: number, one: () => Promise<{ status: number; body: string } | Error>): { last: () => string; statuses: Map<number, number>; stop(): Promise<{ ok: number; failures: string[] }> } {
  let ok = 0;
  let last = '';
  const failures: string[] = [];
  const statuses = new Map<number, number>();
  const loops = pacedLoops(n, async () => {
    const r = await one();
    if (r instanceof Error) failures.push(r.message);
    else {
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      if (r.status === 200) {
        ok++;
        last = /"greeting":"([^"]*)"/.exec(r.body)?.[1] ?? last;
      } else failures.push(`HTTP ${r.status}: ${r.body.slice(0, 120)}`);
    }
  }, (1000 * n) / everyMs);
  return {
    last: () => last,
    statuses,
    async stop() {
      await loops.stop();
      return { ok, failures };
    },
  };
}

// run-tests: one process per data plane (every test of this file is in this loop).
for (const plane of PLANES) {
  describe(`a bcrypt .htpasswd service under load (${plane} data plane)`, { timeout: 1_200_000 }, () => {
    const root = tmpDir(`sp-dp-auth-${plane}-`);
    const dataDir = join(root, 'data');
    const hq = join(root, 'hq');
    const app = join(root, 'app');
    const other = join(root, 'other');
    let ship: ShipProcess;
    let key: TestKey;

    before(async () => {
      key = makeKey(root, 'admiral');
      fixtureRepo('stream-app', app);
      commit(app, { '.env': 'GREETING=v0\n' });
      fixtureRepo('stream-app', other);
      const line = execFileSync('htpasswd', ['-nbB', 'alice', 'right pass'], { encoding: 'utf8' }).trim();
      initRepo(hq, { 'authorized_keys/admiral': `${key.pub}\n`, 'app/orders': `autodeploy ${app}\n`, 'app/.htpasswd': `${line}\n`, 'other/orders': `autodeploy ${other}\n` });
      ship = await startShip({ headquarters: hq, dataDir, pulse: 0.5, args: ['--data-plane', plane], env: { STARPHLEET_DRAIN_TIMEOUT: '10', STARPHLEET_RUNTIME: 'process' } });
      await waitServes(ship.httpPort, '/app/', () => `app to serve\n${ship.output().slice(-3000)}`, 300_000, { authorization: `Basic ${Buffer.from('alice:right pass').toString('base64')}` });
      await waitServes(ship.httpPort, '/other/', () => `other to serve\n${ship.output().slice(-3000)}`, 300_000);
    });

    after(async () => {
      await ship?.stop();
      await killRecordedInstances(dataDir);
    });

    test('20 deploys under continuous authenticated load: 0 failed requests', async (t) => {
      // 3 clients, each one request per connection every 200 ms (15/s: under the nginx plane's per-address limit).
      const load = paced(3, 200, () => get(ship.httpPort, '/app/', { auth: 'alice:right pass' }));
      try {
        for (let i = 1; i <= 20; i++) {
          commit(app, { '.env': `GREETING=v${i}\n` });
          await waitFor(() => load.last() === `v${i}`, () => `v${i} to serve\n${ship.output().slice(-2000)}`, 180_000, 50);
        }
      } finally {
        const seen = await load.stop();
        t.diagnostic(`${seen.ok} authenticated requests through 20 deploys`);
        assert.deepEqual(seen.failures, [], `${seen.failures.length} failed, ${seen.ok} ok`);
        assert.ok(seen.ok > 100, `only ${seen.ok} requests`);
      }
    });

    test('a flood of 200 wrong passwords a second: SSH logins and another service keep succeeding; the address is slowed', async (t) => {
      const flood = paced(20, 100, () => get(ship.httpPort, '/app/', { auth: 'alice:wrong', from: '127.0.0.2' }));
      const others = paced(2, 100, () => get(ship.httpPort, '/other/'));
      const right = paced(1, 250, () => get(ship.httpPort, '/app/', { auth: 'alice:right pass' }));
      let logins = 0;
      try {
        await sleep(2000);
        for (let i = 0; i < 3; i++) {
          const r = await runSsh({ key: key.privatePath, port: ship.sshPort, args: ['true'] });
          assert.equal(r.code, 0, r.stderr);
          logins++;
        }
        await sleep(2000);
      } finally {
        const f = await flood.stop();
        const o = await others.stop();
        const a = await right.stop();
        t.diagnostic(`flood: ${f.ok} ok, statuses ${JSON.stringify([...flood.statuses])}; other service: ${o.ok} ok; right password: ${a.ok} ok; ${logins} SSH logins`);
        assert.equal(f.ok, 0, 'no wrong password got in');
        assert.ok((flood.statuses.get(429) ?? 0) > 0, 'the flooding address was slowed (429)');
        assert.deepEqual(o.failures, [], 'the other service kept answering');
        assert.ok(o.ok > 20);
        assert.deepEqual(a.failures, [], 'the right password from another address kept working');
        assert.ok(a.ok > 5);
      }
      if (plane === 'embedded') {
        const audit = await cli(dataDir, 'audit', '--failures', '--json');
        assert.equal(audit.code, 0, audit.stderr);
        assert.match(audit.stdout, /127\.0\.0\.2/);
        assert.match(audit.stdout, /http-basic/);
        assert.match(audit.stdout, /wrong passwords: waits \d+ s/);
      }
    });
  });
}
