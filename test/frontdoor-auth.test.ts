import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, test } from 'node:test';
import { BasicAuth, basicCredentials, verifyHash } from '../src/frontdoor/auth.js';
import { Backend } from '../src/frontdoor/backend.js';
import { loopbackUpstream } from '../src/frontdoor/upstream.js';
import { hostName, RouteTable } from '../src/frontdoor/routes.js';
import { parseHtpasswd } from '../src/headquarters/htpasswd.js';

function htpasswd(flag: string, user: string, password: string): string {
  return execFileSync('htpasswd', ['-nb', flag, user, password], { encoding: 'utf8' }).trim();
}

describe('htpasswd hashes made by the real htpasswd', () => {
  for (const [flag, kind] of [
    ['-B', 'bcrypt'],
    ['-m', 'apr1'],
    ['-s', 'sha1'],
  ] as const) {
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

  test('BasicAuth: users of the file only, malformed headers refused', async () => {
    const text = `${htpasswd('-s', 'carol', 'pw')}\nbroken:nothash\n`;
    const { entries } = parseHtpasswd(text, 'x/.htpasswd');
    const auth = new BasicAuth({ mount: '/x', file: 'x/.htpasswd', entries }, 'starphleet /x');
    const h = (u: string, p: string): string => `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}`;
    assert.equal(await auth.check(h('carol', 'pw')), true);
    assert.equal(await auth.check(h('carol', 'pw')), true);
    assert.equal(await auth.check(h('carol', 'PW')), false);
    assert.equal(await auth.check(h('broken', 'nothash')), false);
    assert.equal(await auth.check(undefined), false);
    assert.equal(await auth.check('Basic !!!'), false);
    assert.equal(await auth.check(`Basic ${Buffer.from('nocolon').toString('base64')}`), false);
    assert.deepEqual(basicCredentials(h('a', 'b:c')), { user: 'a', password: Buffer.from('b:c') });
    assert.match(auth.challenge, /^Basic realm="starphleet \/x"/);
  });
});

describe('virtual hosts in the route table', () => {
  test('Host header matched without port, case or trailing dot, before the mounts', () => {
    const b = new Backend('b', loopbackUpstream(1));
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
    b.close();
  });
});
