import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import ssh2, { type ConnectConfig, type ParsedKey, type PublicKeyAuthMethod, type SignCallback, type SigningRequestOptions } from 'ssh2';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import type { Admiral } from '../../../src/headquarters/types.js';
import { silent } from '../../../src/log.js';
import { loadHostKeys } from '../../../src/server/transport/host-keys.js';
import { DEFAULT_SSH_LIMITS } from '../../../src/server/transport/limits.js';
import { ALGORITHMS } from '../../../src/server/transport/kex-offer.js';
import { SshServer } from '../../../src/server/transport/ssh-server.js';
import { latestAudit } from '../../../src/state/audit.js';
import { latestAuthFailures } from '../../../src/state/auth-failures.js';
import { openDb, type Db } from '../../../src/state/db.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

function publicKey(k: TestKey): ParsedKey {
  const p = ssh2.utils.parseKey(k.pub);
  if (p instanceof Error) throw p;
  return p;
}

function privateKey(k: TestKey): ParsedKey {
  const p = ssh2.utils.parseKey(readFileSync(k.privatePath));
  if (p instanceof Error) throw p;
  return p;
}

function asAdmiral(k: TestKey, file: string): Admiral {
  const { admiral } = parseAuthorizedKeyFile(`${k.pub}\n`, file);
  if (!admiral) throw new Error(`bad test key ${file}`);
  return admiral;
}

/** An agent that offers `offered` and answers every sign request with `signer`'s signature (or random bytes). */
class LyingAgent extends ssh2.BaseAgent<ParsedKey> {
  constructor(
    private readonly offered: ParsedKey[],
    private readonly signer: ParsedKey | null,
  ) {
    super();
  }
  getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    cb(undefined, this.offered);
  }
  sign(_pub: ParsedKey, data: Buffer, optionsOrCb: SigningRequestOptions | SignCallback, maybeCb?: SignCallback): void {
    const cb = (typeof optionsOrCb === 'function' ? optionsOrCb : maybeCb) as SignCallback;
    cb(undefined, this.signer ? this.signer.sign(data) : randomBytes(64));
  }
}

/** Connects with ssh2's client; resolves with the connection if it got in, or with the error that ended it. */
function attempt(port: number, cfg: Omit<ConnectConfig, 'host' | 'port'>): Promise<{ client: ssh2.Client } | { error: Error }> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    client.once('ready', () => resolve({ client }));
    client.on('error', (error) => resolve({ error }));
    client.once('close', () => resolve({ error: new Error('closed') }));
    client.connect({ host: '127.0.0.1', port, readyTimeout: 10_000, ...cfg });
  });
}

function execOn(client: ssh2.Client, command: string): Promise<{ out: string; code: number | null } | { error: Error }> {
  return new Promise((resolve) => {
    try {
      runExecOn(client, command, resolve);
    } catch (e) {
      resolve({ error: e as Error });
    }
  });
}

function runExecOn(client: ssh2.Client, command: string, resolve: (r: { out: string; code: number | null } | { error: Error }) => void): void {
  client.exec(command, (err, ch) => {
    if (err) return resolve({ error: err });
    let out = '';
    let code: number | null = null;
    ch.on('data', (d: Buffer) => (out += d.toString()));
    ch.on('exit', (c: number | null) => (code = c));
    ch.on('close', () => resolve({ out, code }));
  });
}

describe('attacks on the auth layer (ssh2 client against the real server, in process)', () => {
  let dir: string;
  let db: Db;
  let server: SshServer;
  let port: number;
  let admiral: TestKey;
  let attacker: TestKey;

  before(async () => {
    dir = tmpDir('sp-attack-');
    db = openDb(join(dir, 'state.db'));
    server = new SshServer({ dataDir: dir, db, log: silent, limits: DEFAULT_SSH_LIMITS, algorithms: ALGORITHMS, hostKeys: loadHostKeys(dir, silent) });
    port = (await server.listen(0, '127.0.0.1')).port;
    admiral = makeKey(dir, 'admiral');
    attacker = makeKey(dir, 'attacker');
  });
  after(async () => {
    await server.close();
    db.close();
  });

  it('refuses everyone before the first HQ sync', async () => {
    const r = await attempt(port, { username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    assert.ok('error' in r, 'got in with no admirals known');
    server.setAdmirals([asAdmiral(admiral, 'authorized_keys/admiral')]);
    const ok = await attempt(port, { username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    assert.ok('client' in ok, `the admiral should get in: ${'error' in ok ? ok.error.message : ''}`);
    ok.client.end();
  });

  it('refuses a client that offers an admiral public key with a bogus signature', async () => {
    const r = await attempt(port, { username: 'admiral', agent: new LyingAgent([publicKey(admiral)], null) });
    assert.ok('error' in r, 'a random signature got in');
    const row = latestAuthFailures(db, 20).find((e) => e.fingerprint === admiral.fingerprint);
    assert.ok(row, 'the bogus attempt was not audited');
    assert.match(row.reason, /bad signature/);
  });

  it("refuses an admiral key signed with someone else's private key", async () => {
    const r = await attempt(port, { username: 'admiral', agent: new LyingAgent([publicKey(admiral)], privateKey(attacker)) });
    assert.ok('error' in r, 'a signature by another key got in');
  });

  it('refuses an attacker key after a successful probe of the admiral key on the same connection', async () => {
    // The agent first offers the admiral key (the server answers "acceptable" to the probe), the attacker's second.
    // Every signature comes from the attacker key: nothing the probe said may carry over.
    const r = await attempt(port, { username: 'admiral', agent: new LyingAgent([publicKey(admiral), publicKey(attacker)], privateKey(attacker)) });
    assert.ok('error' in r, 'probe/sign confusion got in');
  });

  it('does not offer password or keyboard-interactive', async () => {
    const r = await attempt(port, { username: 'admiral', password: 'hunter2', tryKeyboard: true });
    assert.ok('error' in r);
  });

  it('a client cannot change user between auth requests', async () => {
    const key = readFileSync(admiral.privatePath);
    const steps: PublicKeyAuthMethod[] = [
      { type: 'publickey', username: 'nobody', key },
      { type: 'publickey', username: 'admiral', key },
    ];
    let tried = 0;
    const r = await attempt(port, {
      username: 'nobody',
      authHandler: (_left, _partial, next) => {
        const step = steps.shift();
        if (step) tried++;
        return step ? next(step) : false;
      },
    });
    assert.ok(tried >= 1);
    assert.ok('error' in r, 'switching from nobody to admiral mid-auth got in');
  });

  it('a client authenticated as admiral that asks to be another user gets nothing and is cut off', async () => {
    const r = await attempt(port, { username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    assert.ok('client' in r);
    const closed = new Promise<void>((res) => r.client.once('close', () => res()));
    // Speak the protocol past the client library: a second USERAUTH_REQUEST, now for `git`, after success.
    const proto = (r.client as unknown as { _protocol: { authNone(user: string): void } })._protocol;
    proto.authNone('git');
    await closed;
    const again = await execOn(r.client, 'echo should-not-run');
    assert.ok('error' in again, 'a session opened after the user switch');
  });

  it('refuses a key removed from the admirals and closes its sessions at once', async () => {
    const r = await attempt(port, { username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    assert.ok('client' in r);
    const running = execOn(r.client, 'sleep 30; echo finished');
    await waitFor(() => latestAudit(db, 5).find((e) => e.command === 'sleep 30; echo finished'), 'the session to start');
    server.setAdmirals([]);
    const end = await running;
    assert.ok(!('out' in end) || !end.out.includes('finished'));
    const again = await attempt(port, { username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    assert.ok('error' in again);
    server.setAdmirals([asAdmiral(admiral, 'authorized_keys/admiral')]);
  });
});

function rawSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => resolve(s));
    s.on('error', reject);
  });
}

describe('floods and malformed input against a running ship (OpenSSH client)', () => {
  let s: SshShip;
  const sockets: Socket[] = [];
  before(async () => {
    s = await startSshShip();
  });
  after(async () => {
    for (const so of sockets) so.destroy();
    await s?.ship.stop();
  });

  it('drops garbage bytes and keeps serving admirals', async () => {
    const garbage = await Promise.all(Array.from({ length: 5 }, () => rawSocket(s.port)));
    const closed = garbage.map((g) => new Promise<void>((res) => g.once('close', () => res())));
    for (const g of garbage) {
      // Read, or the server's FIN would go unnoticed and 'close' never come.
      g.resume();
      g.on('error', () => {});
      g.write(randomBytes(64 * 1024));
    }
    await Promise.all(closed);
    const r = await s.ssh(['echo alive']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'alive\n');
  });

  it('a valid ident followed by a malformed packet is dropped', async () => {
    const g = await rawSocket(s.port);
    g.on('error', () => {});
    g.resume();
    const closed = new Promise<void>((res) => g.once('close', () => res()));
    g.write('SSH-2.0-evil\r\n');
    // A packet length of 4 GiB: the parser must refuse it, not try to buffer it.
    g.write(Buffer.from([0xff, 0xff, 0xff, 0xff, 0x04, 0x14, 1, 2, 3, 4]));
    await closed;
    assert.equal(s.ship.child.exitCode, null);
  });

  it('half-finished handshakes and 100 idle connections leave an admiral served at once', async (t) => {
    const half = await rawSocket(s.port);
    half.on('error', () => {});
    half.write('SSH-2.0-halfway\r\n');
    sockets.push(half);
    const stalled = await rawSocket(s.port);
    stalled.on('error', () => {});
    stalled.write('SSH-2.0-stalled\r\n\x00\x00\x01\x00');
    sockets.push(stalled);
    for (let i = 0; i < 100; i++) {
      const idle = await rawSocket(s.port);
      idle.on('error', () => {});
      sockets.push(idle);
    }
    const started = Date.now();
    const r = await s.ssh(['echo served']);
    t.diagnostic(`admiral served in ${Date.now() - started} ms with ${sockets.length} idle/half-open connections`);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'served\n');
    // They were all still held open (under the default limit nothing was evicted): the admiral did not win by luck.
    assert.equal(sockets.filter((so) => so.destroyed).length, 0);
  });
});
