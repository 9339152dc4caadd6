import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { BasicAuth, basicCredentials } from '../../../src/dataplane/basic-auth/auth.js';
import { AuthBackoff, type BackoffEvent } from '../../../src/dataplane/basic-auth/backoff.js';
import { HashChecks } from '../../../src/dataplane/basic-auth/hash-checks.js';
import { InstancePool } from '../../../src/dataplane/embedded/instance-pool.js';
import { hostName, RouteTable } from '../../../src/dataplane/embedded/routes.js';
import { loopbackUpstream } from '../../../src/dataplane/protocol/upstream.js';
import { verifyHash } from '../../../src/dataplane/basic-auth/verify-hash.js';
import type { WireUser } from '../../../src/dataplane/protocol/wire.js';
import { parseHtpasswd } from '../../../src/headquarters/htpasswd.js';
import { basic, send } from '../../helpers/http.js';
import { PLANES, startTestPlane } from '../../helpers/planes.js';

function htpasswd(flag: string, user: string, password: string): string {
  return execFileSync('htpasswd', ['-nb', flag, user, password], { encoding: 'utf8' }).trim();
}

function users(text: string): WireUser[] {
  return parseHtpasswd(text, 'x/.htpasswd').entries.map((e) => ({ user: e.user, hash: e.hash }));
}

const FORMATS = [
  ['-B', 'bcrypt'],
  ['-m', 'apr1'],
  ['-s', 'sha1'],
] as const;

describe('htpasswd hashes made by the real htpasswd', () => {
  for (const [flag, kind] of FORMATS) {
    test(`${kind} (${flag}): the password matches, anything else does not`, async () => {
      for (const password of ['s3cret', 'pässwörd with spaces', 'x']) {
        const hash = htpasswd(flag, 'u', password).slice(2);
        assert.equal(await verifyHash(hash, Buffer.from(password)), true, `${kind} ${password}`);
        assert.equal(await verifyHash(hash, Buffer.from(`${password}!`)), false);
        assert.equal(await verifyHash(hash, Buffer.from('')), false);
      }
    });
  }

  test('unknown formats never match, not even the plain text they hold', async () => {
    assert.equal(await verifyHash('plain', Buffer.from('plain')), false);
    assert.equal(await verifyHash('$1$abc$def', Buffer.from('x')), false);
    assert.equal(await verifyHash('', Buffer.from('')), false);
  });

  test('BasicAuth on worker threads: users of the file only, malformed headers refused', async () => {
    const checks = new HashChecks();
    const auth = new BasicAuth(users(`${htpasswd('-B', 'carol', 'pw')}\nbroken:nothash\n`), 'starphleet /x', 'x', checks, new AuthBackoff(() => undefined));
    const h = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    try {
      assert.deepEqual(await auth.check(h('carol', 'pw'), 'a'), { ok: true });
      assert.deepEqual(await auth.check(h('carol', 'pw'), 'a'), { ok: true });
      assert.equal((await auth.check(h('carol', 'PW'), 'a')).ok, false);
      assert.equal((await auth.check(h('broken', 'nothash'), 'a')).ok, false);
      assert.equal((await auth.check(undefined, 'a')).ok, false);
      assert.equal((await auth.check('Basic !!!', 'a')).ok, false);
      assert.equal((await auth.check(`Basic ${Buffer.from('nocolon').toString('base64')}`, 'a')).ok, false);
      assert.deepEqual(basicCredentials(h('a', 'b:c')), { user: 'a', password: Buffer.from('b:c') });
      assert.match(auth.challenge, /^Basic realm="starphleet \/x"/);
    } finally {
      await checks.close();
    }
  });

  test('an address that keeps failing waits (429 without a hash check); the wait is reported; other addresses are not affected', async () => {
    const checks = new HashChecks();
    const events: BackoffEvent[] = [];
    const auth = new BasicAuth(users(htpasswd('-B', 'carol', 'pw')), 'r', 'svc', checks, new AuthBackoff((e) => events.push(e)));
    const wrong = `Basic ${Buffer.from('carol:nope').toString('base64')}`;
    try {
      for (let i = 0; i < 5; i++) assert.deepEqual(await auth.check(wrong, '10.0.0.1'), { ok: false, status: 401 });
      const waiting = await auth.check(`Basic ${Buffer.from('carol:pw').toString('base64')}`, '10.0.0.1');
      assert.equal(waiting.ok, false);
      assert.equal(!waiting.ok && waiting.status, 429);
      assert.equal(events.length, 1);
      assert.deepEqual({ ...events[0] }, { address: '10.0.0.1', service: 'svc', failures: 5, seconds: 1 });
      assert.deepEqual(await auth.check(`Basic ${Buffer.from('carol:pw').toString('base64')}`, '10.0.0.2'), { ok: true });
    } finally {
      await checks.close();
    }
  });
});

describe('virtual hosts in the route table', () => {
  test('Host header matched without port, case or trailing dot, before the mounts', () => {
    const b = new InstancePool('b', loopbackUpstream(1));
    const t = new RouteTable([
      { mount: '/', service: 'root', backend: b },
      { mount: '/app', service: 'app', backend: b, hosts: ['app.example'] },
    ]);
    const m = t.match('/x?y', 'APP.example.:80');
    assert.equal(m.kind === 'route' ? `${m.route.service} ${m.path} ${m.mount}` : m.kind, 'app /x?y /');
    const n = t.match('/app/x', 'other.example');
    assert.equal(n.kind === 'route' ? `${n.route.service} ${n.path}` : n.kind, 'app /x');
    assert.equal(hostName('[::1]:8080'), '[::1]');
    assert.equal(hostName(undefined), '');
    b.destroy();
  });
});

for (const plane of PLANES) {
  describe(`basic auth through the ${plane} data plane`, () => {
    let dp: Awaited<ReturnType<typeof startTestPlane>>;
    let app: Server;
    let appPort = 0;
    before(async () => {
      dp = await startTestPlane(plane);
      app = createServer((req, res) => res.end(`in ${req.url} auth=${req.headers.authorization ? 'forwarded' : 'none'}`));
      await new Promise<void>((r) => app.listen(0, '127.0.0.1', () => r()));
      appPort = (app.address() as AddressInfo).port;
    });
    after(async () => {
      await dp.stop();
      app.close();
    });

    test('bcrypt, apr1 and SHA1 entries as htpasswd writes them; wrong passwords and unknown users get a 401 with a challenge', async () => {
      const text = FORMATS.map(([flag, kind]) => htpasswd(flag, kind, `pw-${kind}`)).join('\n');
      await dp.client.setTable({
        routes: [{ mount: '/p', service: 'p', instance: { id: 'p1', upstream: loopbackUpstream(appPort) }, hosts: [], auth: { realm: 'starphleet /p', file: 'p/.htpasswd', users: users(text) } }],
      });
      const port = dp.client.port;
      for (const [, kind] of FORMATS) {
        const r = await send(port, '/p/x', { headers: basic(kind, `pw-${kind}`) });
        assert.equal(r.status, 200, `${kind}: ${r.body}`);
        assert.match(r.body, /^in \/x/);
        assert.equal((await send(port, '/p/x', { headers: basic(kind, 'wrong') })).status, 401, kind);
      }
      const none = await send(port, '/p/x');
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Basic realm="starphleet \/p"/);
      assert.equal((await send(port, '/p/x', { headers: basic('nobody', 'x') })).status, 401);
    });

    test('an empty user list lets nobody in (fail closed)', async () => {
      await dp.client.setTable({ routes: [{ mount: '/', service: 'root', instance: { id: 'r1', upstream: loopbackUpstream(appPort) }, hosts: [], auth: { realm: 'r', file: '.htpasswd', users: [] } }] });
      assert.equal((await send(dp.client.port, '/x', { headers: basic('a', 'b') })).status, 401);
    });
  });
}
