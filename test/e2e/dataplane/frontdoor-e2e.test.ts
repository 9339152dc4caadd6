import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createServer, type Server } from 'node:net';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, initRepo } from '../../helpers/git.js';
import { basic, EventStream, raw, send } from '../../helpers/http.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { statusJson } from '../../helpers/phleet.js';
import { PLANES } from '../../helpers/planes.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** Routing, WebSockets, event streams, basic auth and bad clients, all through a real ship's front door. */
for (const plane of PLANES) {
  describe(`front door through a ship (${plane} data plane)`, { timeout: 900_000 }, () => {
  const root = tmpDir(`sp-frontdoor-${plane}-`);
  const dataDir = join(root, 'data');
  const hq = join(root, 'hq');
  const appA = join(root, 'app-a');
  const appB = join(root, 'app-b');
  let ship: ShipProcess;
  let port: number;
  let published: number;

  function htpasswd(flag: string, user: string, password: string): string {
    return execFileSync('htpasswd', ['-nb', flag, user, password], { encoding: 'utf8' }).trim();
  }

  function orders(publishPort: number): string {
    return `autodeploy ${appA}\nproxy_for vhost.example other.example\nexport PUBLISH_PORT=${publishPort}\n`;
  }

  interface Echoed {
    greeting: string;
    url: string;
    headers: Record<string, string | undefined>;
  }

  interface Status {
    ship: { name: string };
    services: { name: string; state: string; message: string; sha: string | null }[];
    problems: string[];
  }

  /** The status JSON, from the control socket (`starphleet status --json`): it is not public over HTTP. */
  async function status(): Promise<Status> {
    return statusJson<Status>(dataDir);
  }

  before(async () => {
    fixtureRepo('stream-app', appA);
    commit(appA, { '.env': 'GREETING=a0\n' });
    fixtureRepo('stream-app', appB);
    commit(appB, { '.env': 'GREETING=b0\n' });
    published = await freePort();
    initRepo(hq, {
      'echo/orders': orders(published),
      'other/orders': `autodeploy ${appB}\n`,
      'private/orders': `autodeploy ${appA}\n`,
      'private/.htpasswd': `${htpasswd('-B', 'alice', 'bcrypt pass')}\n${htpasswd('-m', 'bob', 'apr1 pass')}\n${htpasswd('-s', 'carol', 'sha1 pass')}\n`,
    });
    ship = await startShip({
      headquarters: hq,
      dataDir,
      pulse: 0.5,
      args: ['--data-plane', plane],
      env: { STARPHLEET_HTTP_HEADERS_TIMEOUT: '1', STARPHLEET_HTTP_MAX_CONNECTIONS_PER_ADDRESS: '40', STARPHLEET_RUNTIME: 'process' },
    });
    port = ship.httpPort;
    await waitFor(async () => {
      const s = await status();
      return ['echo', 'other', 'private'].every((n) => s.services.find((v) => v.name === n)?.state === 'serving');
    }, 'three services serving', 400_000, 250);
  });

  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  describe(`${plane}: front door routing`, () => {
    test('mount stripped, 301 to the slash, forwarded headers set, hop-by-hop headers dropped both ways', async () => {
      const moved = await send(port, '/echo?x=1');
      assert.equal(moved.status, 301);
      assert.equal(moved.headers.location, '/echo/?x=1');
      // A header named in Connection is hop-by-hop (RFC 9110 7.6.1); nginx cannot drop a name it learns per request,
      // so both planes refuse such a request (docs/http.md).
      const named = await send(port, '/echo/Hi?x=1', { headers: { connection: 'x-secret', 'x-secret': 'per-connection' } });
      assert.equal(named.status, 400);
      const r = await send(port, '/echo/Hi?x=1', {
        headers: {
          connection: 'keep-alive, TE',
          te: 'trailers',
          'proxy-authorization': 'Basic eDp5',
          'x-forwarded-for': '10.1.2.3',
          'x-forwarded-proto': 'https',
          'x-forwarded-prefix': '/forged',
        },
      });
      assert.equal(r.status, 200);
      const e = JSON.parse(r.body) as Echoed;
      assert.equal(e.greeting, 'a0');
      assert.equal(e.url, '/Hi?x=1');
      assert.equal(e.headers['x-forwarded-prefix'], '/echo');
      // Set from the peer, never passed from the client (docs/http.md).
      assert.equal(e.headers['x-forwarded-for'], '127.0.0.1');
      assert.equal(e.headers['x-forwarded-proto'], 'http');
      assert.equal(e.headers['x-forwarded-host'], `127.0.0.1:${port}`);
      // The Connection header an instance may see is the plane's own connection's (undici says keep-alive), never the client's.
      assert.doesNotMatch(e.headers.connection ?? '', /te/i);
      assert.equal(e.headers.te, undefined);
      assert.equal(e.headers['proxy-authorization'], undefined);
      assert.equal(r.headers['x-hop-test'], 'kept');
      assert.notEqual(r.headers['keep-alive'], 'timeout=5', "the instance's keep-alive header is its own connection's");
      assert.equal((await send(port, '/nothing/here')).status, 404);
    });

    test('proxy_for virtual hosts come before paths; /starphleet stays the ship own', async () => {
      for (const host of ['vhost.example', 'VHost.Example:8080', 'other.example.']) {
        const r = await send(port, '/other/x?y=1', { headers: { host } });
        assert.equal(r.status, 200, host);
        const e = JSON.parse(r.body) as Echoed;
        assert.equal(e.greeting, 'a0', `${host} reaches echo, not the /other mount`);
        assert.equal(e.url, '/other/x?y=1');
        assert.equal(e.headers['x-forwarded-prefix'], undefined);
      }
      assert.equal((await send(port, '/starphleet/health', { headers: { host: 'vhost.example' } })).body, 'ok\n');
      assert.match((await send(port, '/other/', { headers: { host: 'unknown.example' } })).body, /"greeting":"b0"/);
    });

    test('/starphleet/status is not public (404), /starphleet/health is 200, and nothing mounts over /starphleet', async () => {
      assert.equal((await send(port, '/starphleet/status')).status, 404);
      const s = await status();
      assert.equal(s.ship.name, 'testship');
      assert.deepEqual(s.services.map((v) => v.name).sort(), ['echo', 'other', 'private']);
      assert.equal((await send(port, '/starphleet/health')).status, 200);
      assert.equal((await send(port, '/starphleet/nothing')).status, 404);
      commit(hq, { 'starphleet/status/orders': `autodeploy ${appB}\n` });
      await waitFor(async () => (await status()).problems.some((p) => /\/starphleet is reserved/.test(p)), 'the reserved-mount problem', 30_000, 250);
      assert.equal((await send(port, '/starphleet/health')).status, 200);
      assert.equal((await send(port, '/starphleet/status')).status, 404);
      commit(hq, { 'starphleet/status/orders': null });
    });

    test('PUBLISH_PORT serves the service at / of that port; moving it to a port in use is a reported problem', async () => {
      const r = await send(published, '/abc?d=1');
      assert.equal(r.status, 200);
      assert.equal((JSON.parse(r.body) as Echoed).url, '/abc?d=1');

      const squatter: Server = createServer();
      const busy = await freePort();
      await new Promise<void>((ok) => squatter.listen(busy, '127.0.0.1', () => ok()));
      try {
        commit(hq, { 'echo/orders': orders(busy) });
        const row = await waitFor(async () => (await status()).services.find((v) => v.name === 'echo' && /PUBLISH_PORT/.test(v.message)), 'a PUBLISH_PORT problem', 30_000, 250);
        assert.match(row.message, new RegExp(`PUBLISH_PORT ${busy} cannot be served on 127.0.0.1: the port is already in use`));
        // New orders redeploy the service; the problem stays in its status through it.
        await waitFor(async () => {
          const v = (await status()).services.find((x) => x.name === 'echo');
          return v?.state === 'serving' && v.message.includes(`PUBLISH_PORT ${busy} cannot be served`);
        }, 'echo serving with the problem shown', 120_000, 250);
        await assert.rejects(send(published, '/'), /ECONNREFUSED/, 'the old published port is closed');
        assert.equal((await send(port, '/echo/')).status, 200, 'the ship keeps serving');
        assert.match(readFileSync(join(dataDir, 'dataplane', 'plane.log'), 'utf8'), /echo: PUBLISH_PORT \d+ cannot be served/, 'the data plane logs it');
      } finally {
        squatter.close();
      }
      const next = await freePort();
      commit(hq, { 'echo/orders': orders(next) });
      await waitFor(async () => (await send(next, '/')).status === 200, 'the new published port', 30_000, 250);
      await waitFor(async () => (await status()).services.find((v) => v.name === 'echo')?.message === '', 'the problem cleared', 30_000, 250);
      published = next;
    });

    test('an instance that breaks the connection mid-request is a clear 502', async () => {
      const r = await send(port, '/echo/break');
      assert.equal(r.status, 502);
      assert.match(r.body, /502 bad gateway: the instance failed before answering/);
      assert.equal((await send(port, '/echo/')).status, 200);
    });
  });

  describe(`${plane}: long-lived connections`, () => {
    test('WebSocket echo through the mount, text and a 200 kB binary message', async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/echo/ws`);
      const messages: (string | Buffer)[] = [];
      ws.on('message', (d: Buffer, isBinary: boolean) => messages.push(isBinary ? d : d.toString()));
      await new Promise<void>((ok, fail) => {
        ws.once('open', () => ok());
        ws.once('error', fail);
      });
      ws.send('hello through the front door');
      const big = Buffer.alloc(200_000, 7);
      ws.send(big);
      await waitFor(() => messages.length === 2, 'two echoes');
      assert.equal(messages[0], 'hello through the front door');
      assert.deepEqual(messages[1], big);
      const closed = new Promise<number>((ok) => ws.once('close', (code: number) => ok(code)));
      ws.close(1000);
      assert.equal(await closed, 1000);
    });

    test('an event stream keeps flowing, unbroken, while another service deploys', async () => {
      const es = new EventStream(port, '/echo/events');
      try {
        await waitFor(() => es.events.length >= 5, 'first events');
        assert.equal(es.status, 200);
        commit(appB, { '.env': 'GREETING=b1\n' });
        await waitFor(async () => /"greeting":"b1"/.test((await send(port, '/other/')).body), 'other to serve b1', 120_000, 200);
        const seen = es.events.length;
        await waitFor(() => es.events.length >= seen + 5, 'events after the deploy');
        assert.equal(es.closed, false);
        es.events.forEach((e, i) => assert.equal(e, `a0 ${i}`, 'one stream, no event lost'));
      } finally {
        es.close();
      }
    });
  });

  describe(`${plane}: basic auth from .htpasswd`, () => {
    const users = [
      ['alice', 'bcrypt pass'],
      ['bob', 'apr1 pass'],
      ['carol', 'sha1 pass'],
    ] as const;

    test('bcrypt, apr1 and SHA1 entries from the real htpasswd: right password 200, wrong or none 401', async () => {
      const none = await send(port, '/private/');
      assert.equal(none.status, 401);
      assert.match(String(none.headers['www-authenticate']), /^Basic realm="starphleet \/private"/);
      for (const [user, password] of users) {
        assert.equal((await send(port, '/private/', { headers: basic(user, password) })).status, 200, `${user} right`);
        assert.equal((await send(port, '/private/', { headers: basic(user, password) })).status, 200, `${user} right again (cached)`);
        assert.equal((await send(port, '/private/', { headers: basic(user, `${password}x`) })).status, 401, `${user} wrong`);
      }
      assert.equal((await send(port, '/private/', { headers: basic('mallory', 'bcrypt pass') })).status, 401);
      assert.equal((await send(port, '/private/', { headers: { authorization: 'Bearer abc' } })).status, 401);
      const e = JSON.parse((await send(port, '/private/', { headers: basic('carol', 'sha1 pass') })).body) as Echoed;
      assert.ok(e.headers.authorization, 'the instance sees who logged in');
    });

    test('a WebSocket to a protected service needs the password too', async () => {
      const refused = await new Promise<number>((ok) => {
        const ws = new WebSocket(`ws://127.0.0.1:${port}/private/ws`);
        ws.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
        ws.once('open', () => ok(101));
        ws.once('error', () => undefined);
      });
      assert.equal(refused, 401);
      const ws = new WebSocket(`ws://127.0.0.1:${port}/private/ws`, { headers: basic('bob', 'apr1 pass') });
      await new Promise<void>((ok, fail) => {
        ws.once('open', () => ok());
        ws.once('error', fail);
      });
      const got = new Promise<string>((ok) => ws.once('message', (d: Buffer) => ok(d.toString())));
      ws.send('authorized');
      assert.equal(await got, 'authorized');
      ws.close();
    });

    test('a new .htpasswd in HQ is in force at once; an unknown hash format denies and is reported', async () => {
      commit(hq, { 'private/.htpasswd': `${htpasswd('-B', 'alice', 'new pass')}\ndave:plain-text-password\n` });
      await waitFor(async () => (await send(port, '/private/', { headers: basic('alice', 'new pass') })).status === 200, 'the new password', 30_000, 250);
      assert.equal((await send(port, '/private/', { headers: basic('alice', 'bcrypt pass') })).status, 401);
      assert.equal((await send(port, '/private/', { headers: basic('bob', 'apr1 pass') })).status, 401);
      assert.equal((await send(port, '/private/', { headers: basic('dave', 'plain-text-password') })).status, 401);
      assert.ok((await status()).problems.some((p) => /private\/\.htpasswd:2: unknown hash format for user "dave"/.test(p)));
    });
  });

  describe(`${plane}: bad clients`, () => {
    test('a malformed request is a 400 and huge headers a 431, each closing only its own connection', async () => {
      assert.match(await raw(port, 'GARBAGE\r\n\r\n'), /^HTTP\/1\.1 400 Bad Request/);
      // Both planes answer an oversized head 431 (nginx's own 494 is mapped to it).
      assert.match(await raw(port, `GET /echo/ HTTP/1.1\r\nhost: x\r\nx-big: ${'a'.repeat(20_000)}\r\n\r\n`), /^HTTP\/1\.1 431 /);
      assert.equal((await send(port, '/echo/')).status, 200);
    });

    test('a slowloris client is cut off at the headers timeout while others are served', async () => {
      const { connect } = await import('node:net');
      const s = connect({ host: '127.0.0.1', port });
      let got = '';
      s.on('data', (b) => (got += b.toString()));
      s.on('error', () => undefined);
      const closed = new Promise<void>((ok) => s.once('close', () => ok()));
      s.write('GET /echo/ HTTP/1.1\r\nhost: x\r\n');
      let n = 0;
      const dribble = setInterval(() => s.writable && s.write(`x-slow-${n++}: y\r\n`), 200);
      try {
        for (let i = 0; i < 3; i++) assert.equal((await send(port, '/echo/')).status, 200);
        await closed;
        assert.doesNotMatch(got, /HTTP\/1\.1 200/);
      } finally {
        clearInterval(dribble);
        s.destroy();
      }
    });

    test('a flood of connections from one address is capped; other clients are still served', async () => {
      const { connect } = await import('node:net');
      const flood = Array.from({ length: 60 }, () => connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' }));
      let closed = 0;
      for (const s of flood) {
        s.on('error', () => undefined);
        s.once('close', () => closed++);
      }
      try {
        await waitFor(() => closed >= 20, 'connections over the per-address limit refused', 10_000, 50);
        for (let i = 0; i < 5; i++) assert.equal((await send(port, '/echo/')).status, 200);
        // The ones let in sent no request: the headers timeout (1 s here) closes them too.
        await waitFor(() => closed === flood.length, () => `idle flood connections closed (${closed} of ${flood.length})`, 15_000, 50);
      } finally {
        for (const s of flood) s.destroy();
      }
    });
  });
  });
}
