import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import ssh2 from 'ssh2';
import { ConfigError } from '../../../src/settings/ship-options.js';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import { silent } from '../../../src/log.js';
import { loadHostKeys } from '../../../src/server/transport/host-keys.js';
import { DEFAULT_SSH_LIMITS, sshLimitsFromEnv } from '../../../src/server/transport/limits.js';
import { ALGORITHMS } from '../../../src/server/transport/kex-offer.js';
import { SshServer } from '../../../src/server/transport/ssh-server.js';
import { openDb } from '../../../src/state/db.js';
import { makeKey } from '../../helpers/keys.js';
import { runSsh, startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

describe('ssh limits from STARPHLEET_SSH_* env', () => {
  it('defaults, overrides, and errors that name the variable', () => {
    assert.deepEqual(sshLimitsFromEnv({}), DEFAULT_SSH_LIMITS);
    assert.equal(sshLimitsFromEnv({ STARPHLEET_SSH_LOGIN_GRACE: '2.5' }).loginGraceSeconds, 2.5);
    assert.equal(sshLimitsFromEnv({ STARPHLEET_SSH_IDLE_TIMEOUT: '0' }).idleTimeoutSeconds, 0);
    assert.throws(() => sshLimitsFromEnv({ STARPHLEET_SSH_MAX_AUTH_TRIES: '2.5' }), (e: Error) => e instanceof ConfigError && /STARPHLEET_SSH_MAX_AUTH_TRIES/.test(e.message));
    assert.throws(() => sshLimitsFromEnv({ STARPHLEET_SSH_MAX_SESSIONS: '0' }), /STARPHLEET_SSH_MAX_SESSIONS/);
    assert.throws(() => sshLimitsFromEnv({ STARPHLEET_SSH_LOGIN_GRACE: 'soon' }), /STARPHLEET_SSH_LOGIN_GRACE.*"soon"/);
  });
});

describe('ssh limits on a running ship', () => {
  let s: SshShip;
  const open: Socket[] = [];
  before(async () => {
    s = await startSshShip({
      env: {
        STARPHLEET_SSH_LOGIN_GRACE: '5',
        STARPHLEET_SSH_MAX_UNAUTHENTICATED: '5',
        STARPHLEET_SSH_MAX_AUTH_TRIES: '2',
        STARPHLEET_SSH_MAX_SESSIONS: '2',
        STARPHLEET_SSH_IDLE_TIMEOUT: '2',
      },
    });
  });
  after(async () => {
    for (const so of open) so.destroy();
    await s?.ship.stop();
  });

  it('evicts the oldest unauthenticated connection beyond the limit, and an admiral still gets in', async () => {
    const socks: Socket[] = [];
    for (let i = 0; i < 8; i++) {
      const so = await rawSocket(s.port);
      so.on('error', () => {});
      so.resume();
      socks.push(so);
      open.push(so);
      // Wait for the ship's greeting: the server has taken this one in before the next arrives.
      await waitFor(() => so.bytesRead > 0, 'server ident');
    }
    await waitFor(() => socks.slice(0, 3).every((so) => so.destroyed), 'the three oldest to be evicted');
    assert.deepEqual(socks.slice(3).map((so) => so.destroyed), [false, false, false, false, false]);
    const r = await s.ssh(['echo in']);
    assert.equal(r.code, 0, r.stderr);
  });

  it('drops a connection that has not logged in within the grace time', async () => {
    const so = await rawSocket(s.port);
    so.on('error', () => {});
    so.resume();
    so.write('SSH-2.0-slowpoke\r\n');
    const closed = new Promise<void>((r) => so.once('close', () => r()));
    await closed;
  });

  it('disconnects after the allowed number of failed attempts', async () => {
    const keys = [1, 2, 3].map((i) => makeKey(s.dir, `wrong${i}`));
    const r = await runSsh({ key: keys[0]?.privatePath as string, port: s.port, args: ['true'], options: keys.slice(1).flatMap((k) => ['-i', k.privatePath]) });
    assert.equal(r.code, 255);
    const db = new Database(join(s.ship.dataDir, 'state.db'), { readonly: true });
    try {
      const seen = keys.map((k) => (db.prepare('SELECT COALESCE(SUM(count), 0) AS n FROM auth_failures WHERE fingerprint = ?').get(k.fingerprint) as { n: number }).n);
      assert.deepEqual(seen, [1, 1, 0], 'the third key should never have been tried');
    } finally {
      db.close();
    }
  });

  it('closes a session with no traffic for the idle timeout, but not one with traffic', async () => {
    const quiet = await s.ssh(['sleep 20']);
    assert.equal(quiet.code, 255);
    const busy = await s.ssh(['for i in 1 2 3 4 5 6 7 8; do echo tick; sleep 0.5; done']);
    assert.equal(busy.code, 0, busy.stderr);
    assert.equal(busy.stdout.toString(), 'tick\n'.repeat(8));
  });

  it('refuses sessions beyond the per-connection limit', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.once('ready', () => resolve());
      client.on('error', reject);
      client.connect({ host: '127.0.0.1', port: s.port, username: 'admiral', privateKey: readFileSync(s.admiral.privatePath) });
    });
    const results = await Promise.all(
      [1, 2, 3].map(
        () =>
          new Promise<string>((resolve) => {
            client.exec('sleep 1; echo done', (err, ch) => {
              if (err) return resolve(`refused: ${err.message}`);
              let out = '';
              ch.on('data', (d: Buffer) => (out += d.toString()));
              ch.on('close', () => resolve(out.trim()));
            });
          }),
      ),
    );
    client.end();
    assert.equal(results.filter((r) => r === 'done').length, 2, results.join(' | '));
    assert.equal(results.filter((r) => r.startsWith('refused')).length, 1, results.join(' | '));
  });
});

describe('ssh keepalive', () => {
  it('drops an authenticated client that stops answering keepalives', async () => {
    const dir = tmpDir('sp-keepalive-');
    const db = openDb(join(dir, 'state.db'));
    const limits = { ...DEFAULT_SSH_LIMITS, idleTimeoutSeconds: 0, keepaliveIntervalSeconds: 0.3, keepaliveCountMax: 2 };
    const server = new SshServer({ dataDir: dir, db, log: silent, limits, algorithms: ALGORITHMS, hostKeys: loadHostKeys(dir, silent) });
    const port = (await server.listen(0, '127.0.0.1')).port;
    const key = makeKey(dir, 'admiral');
    const { admiral } = parseAuthorizedKeyFile(key.pub, 'authorized_keys/admiral');
    assert.ok(admiral);
    server.setAdmirals([admiral]);
    // A proxy that can go silent towards the server, like a client whose network vanished.
    let frozen = false;
    let upstreamClosed = false;
    const proxy: Server = createServer((down) => {
      const up = connect(port, '127.0.0.1');
      up.on('error', () => {});
      down.on('error', () => {});
      up.on('close', () => {
        upstreamClosed = true;
        down.destroy();
      });
      down.on('data', (d) => {
        if (!frozen) up.write(d);
      });
      up.pipe(down);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', () => r()));
    const proxyPort = (proxy.address() as { port: number }).port;
    const client = new ssh2.Client();
    client.on('error', () => {});
    await new Promise<void>((resolve) => {
      client.once('ready', () => resolve());
      client.connect({ host: '127.0.0.1', port: proxyPort, username: 'admiral', privateKey: readFileSync(key.privatePath) });
    });
    frozen = true;
    await waitFor(() => upstreamClosed, 'the server to give up on the silent client');
    client.end();
    proxy.close();
    await server.close();
    db.close();
  });
});
