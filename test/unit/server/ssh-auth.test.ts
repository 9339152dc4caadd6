import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { commit } from '../../helpers/git.js';
import { makeKey } from '../../helpers/keys.js';
import { runSsh, startSshShip, type SshShip } from '../../helpers/ssh.js';
import { waitFor } from '../../helpers/wait.js';

const DENIED = /Permission denied \(publickey\)/;

describe('ssh authentication against HQ admirals (OpenSSH client)', () => {
  let s: SshShip;
  before(async () => {
    s = await startSshShip({
      admirals: {
        fenced: 'from="10.0.0.0/8,!127.0.0.1"',
        local: 'from="127.0.0.*,::1"',
        nopty: 'no-pty',
        restricted: 'restrict',
        forced: 'command="echo forced:$SSH_ORIGINAL_COMMAND:$LANG:${BASH_ENV-none}"',
        doomed: '',
      },
    });
  });
  after(async () => {
    await s?.ship.stop();
  });

  it('refuses a key that is not an admiral', async () => {
    const stranger = makeKey(s.dir, 'stranger');
    const r = await s.ssh(['true'], { key: stranger.privatePath });
    assert.equal(r.code, 255);
    assert.match(r.stderr, DENIED);
  });

  it('refuses user names the ship does not serve', async () => {
    // (git and update belong to their own backends: see their tests.)
    for (const user of ['root', 'nobody', 'constructor', '__proto__', 'Admiral']) {
      const r = await s.ssh(['true'], { user });
      assert.equal(r.code, 255, `user ${user}`);
      assert.match(r.stderr, DENIED, `user ${user}`);
    }
  });

  it('honours from=: a mismatch is refused, a match gets in', async () => {
    const fenced = await s.ssh(['true'], { key: s.keys.fenced?.privatePath as string });
    assert.equal(fenced.code, 255);
    assert.match(fenced.stderr, DENIED);
    const local = await s.ssh(['echo in'], { key: s.keys.local?.privatePath as string });
    assert.equal(local.code, 0, local.stderr);
    assert.equal(local.stdout.toString(), 'in\n');
  });

  it('refuses a PTY to no-pty and restrict keys; they still run commands without one', async () => {
    for (const name of ['nopty', 'restricted']) {
      const key = s.keys[name]?.privatePath as string;
      // OpenSSH treats a refused PTY that was forced (-tt) as fatal.
      const r = await s.ssh(['tty'], { key, options: ['-tt'] });
      assert.match(r.stderr, /PTY allocation request failed/, name);
      assert.equal(r.code, 255, name);
      assert.doesNotMatch(r.stdout.toString(), /\/dev\/pts/, name);
      const plain = await s.ssh(['tty'], { key });
      assert.equal(plain.stdout.toString().trim(), 'not a tty', name);
    }
    const ok = await s.ssh(['tty'], { options: ['-tt'] });
    assert.match(ok.stdout.toString(), /^\/dev\/pts\/\d+/);
  });

  it('runs the forced command instead, with the requested one in SSH_ORIGINAL_COMMAND, and filters env', async () => {
    const key = s.keys.forced?.privatePath as string;
    const r = await s.ssh(['ls /etc'], { key, options: ['-o', 'SetEnv=LANG=C.UTF-8 BASH_ENV=/tmp/evil'] });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'forced:ls /etc:C.UTF-8:none\n');
    const shell = await s.ssh([], { key, options: ['-T'] });
    // No command requested: SSH_ORIGINAL_COMMAND is unset (LANG is whatever the client's SendEnv passes).
    assert.match(shell.stdout.toString(), /^forced::[^:]*:none\n$/);
  });

  it('lets a key added to HQ in after the next pulse', async () => {
    const newcomer = makeKey(s.dir, 'newcomer');
    const before = await s.ssh(['true'], { key: newcomer.privatePath });
    assert.equal(before.code, 255);
    const since = s.ship.output().length;
    const sha = commit(s.hq, { 'authorized_keys/newcomer': `${newcomer.pub}\n` }, 'add newcomer');
    await s.ship.waitForLog(new RegExp(`-> ${sha.slice(0, 7)}`), 20_000, since);
    const r = await s.ssh(['echo welcome'], { key: newcomer.privatePath });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), 'welcome\n');
  });

  it('refuses a key removed from HQ after the next pulse and closes its open session then', async () => {
    const key = s.keys.doomed?.privatePath as string;
    const since = s.ship.output().length;
    const open = runSsh({ key, port: s.port, args: ['sleep 60'], timeoutMs: 45_000 });
    await s.ship.waitForLog(/exec "sleep 60"/, 20_000, since);
    const sha = commit(s.hq, { 'authorized_keys/doomed': null }, 'remove doomed');
    await s.ship.waitForLog(new RegExp(`-> ${sha.slice(0, 7)}`), 20_000, since);
    const r = await open;
    assert.equal(r.signal, null, 'ssh was killed by the test timeout: the session stayed open');
    assert.equal(r.code, 255);
    // The ship logs this right after it closed the session: the line may reach this process after ssh's exit does.
    await s.ship.waitForLog(/no longer admitted: closing/, 10_000, since);
    const again = await s.ssh(['true'], { key });
    assert.equal(again.code, 255);
    assert.match(again.stderr, DENIED);
    // The session's program was hung up with it, not left running.
    const row = await waitFor(() => {
      const db = new Database(join(s.ship.dataDir, 'state.db'), { readonly: true });
      try {
        return db.prepare("SELECT signal, duration_ms FROM audit WHERE command = 'sleep 60' AND duration_ms IS NOT NULL").get() as { signal: string } | undefined;
      } finally {
        db.close();
      }
    }, 'the sleep session to end');
    assert.equal(row.signal, 'HUP');
  });

  it('audits refused attempts with user, key fingerprint and address', async () => {
    const stranger = makeKey(s.dir, 'stranger2');
    await s.ssh(['true'], { key: stranger.privatePath, user: 'admiral' });
    const db = new Database(join(s.ship.dataDir, 'state.db'), { readonly: true });
    try {
      // Refused attempts are counted apart from the admirals' trail (auth_failures), never in it.
      const row = db.prepare('SELECT * FROM auth_failures WHERE fingerprint = ? ORDER BY last_at DESC LIMIT 1').get(stranger.fingerprint) as
        | { count: number; user: string; remote: string; reason: string }
        | undefined;
      assert.ok(row, 'no failure row for the refused key');
      assert.ok(row.count >= 1);
      assert.equal(row.user, 'admiral');
      assert.equal(row.remote, '127.0.0.1');
      assert.match(row.reason, /not an admiral/);
      assert.equal((db.prepare("SELECT COUNT(*) AS n FROM audit WHERE kind = 'auth' AND ok = 0").get() as { n: number }).n, 0);
      const fenced = db.prepare('SELECT reason FROM auth_failures WHERE fingerprint = ?').get(s.keys.fenced?.fingerprint) as { reason: string };
      assert.match(fenced.reason, /from= in authorized_keys\/fenced does not allow 127\.0\.0\.1/);
    } finally {
      db.close();
    }
  });
});
