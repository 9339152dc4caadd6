import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import ssh2 from 'ssh2';
import { makeKey } from '../../helpers/keys.js';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';

const ATTEMPTS = 10_000;
const PARALLEL = 16;
/** STARPHLEET_SSH_MAX_AUTH_TRIES's default. */
const MAX_AUTH_TRIES = 6;

/**
 * One connection of a stranger that tries its key as often as the ship lets it (STARPHLEET_SSH_MAX_AUTH_TRIES). ssh2's client in this process: far cheaper than 10,000 `ssh` processes. Resolves with the attempts made.
 */
function stranger(port: number, privateKey: Buffer, budget: () => boolean): Promise<number> {
  return new Promise((resolve) => {
    const c = new ssh2.Client();
    let tries = 0;
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      c.end();
      resolve(tries);
    };
    c.on('ready', () => {
      assert.fail('a stranger logged in');
    });
    c.on('error', finish);
    c.on('close', finish);
    c.connect({
      host: '127.0.0.1',
      port,
      username: 'admiral',
      readyTimeout: 60_000,
      authHandler: (_methods, _partial, next) => {
        // The ship hangs up after its 6th refusal (the default limit): a 7th try would never reach it.
        if (tries >= MAX_AUTH_TRIES || !budget()) return next(false as unknown as ssh2.AuthenticationType);
        tries++;
        next({ type: 'publickey', username: 'admiral', key: privateKey });
      },
    });
  });
}

describe('ssh audit: strangers cannot flush the admirals\' records', () => {
  let s: SshShip;
  before(async () => {
    // The admirals' trail keeps only 2000 entries here: had failures shared its table, 10,000 would flush it.
    s = await startSshShip({ env: { STARPHLEET_AUDIT_KEEP: '2000', STARPHLEET_SSH_MAX_UNAUTHENTICATED: '64' } });
  });
  after(async () => {
    await s?.ship.stop();
  });

  it(`${ATTEMPTS} failed logins with a stranger's key (${PARALLEL} at a time) leave the admiral's logins and commands in starphleet audit`, async () => {
    const before = await s.ssh(['echo', 'before-the-flood']);
    assert.equal(before.stdout.toString(), 'before-the-flood\n', before.stderr);

    const key = readFileSync(makeKey(s.dir, 'stranger').privatePath);
    let left = ATTEMPTS;
    const budget = (): boolean => left-- > 0;
    let made = 0;
    const worker = async (): Promise<void> => {
      while (left > 0) {
        const n = await stranger(s.port, key, budget);
        made += n;
      }
    };
    await Promise.all(Array.from({ length: PARALLEL }, worker));
    assert.equal(made, ATTEMPTS);

    const audit = await s.ssh(['starphleet', 'audit', '-n', '10000']);
    assert.equal(audit.code, 0, audit.stderr);
    const out = audit.stdout.toString();
    assert.match(out, new RegExp(`exec {2}admiral ${s.admiral.fingerprint.replace(/[+/]/g, '\\$&')} \\(authorized_keys/admiral\\) from 127\\.0\\.0\\.1: exec "echo before-the-flood" -> exit 0`));
    assert.match(out, /auth {2}accepted {2}admiral SHA256:\S+ \(authorized_keys\/admiral\) from 127\.0\.0\.1/);
    assert.doesNotMatch(out, /auth {2}refused/, 'failed attempts are not in the admirals\' trail');
    const total = /^(\d+) failed authentications in the last 24 hours/m.exec(out);
    assert.ok(total, out.slice(-500));
    assert.ok(Number(total[1]) >= ATTEMPTS, `only ${total[1]} failures counted`);

    const failures = await s.ssh(['starphleet', 'audit', '--failures', '--json']);
    const rows = JSON.parse(failures.stdout.toString()) as { count: number; reason: string; remote: string }[];
    // Counted per minute, address, user, key and reason: a flood is a handful of rows, not 10,000.
    assert.ok(rows.length < 100, `${rows.length} rows`);
    assert.ok(rows.every((r) => r.remote === '127.0.0.1' && /key is not an admiral/.test(r.reason)));
    assert.equal(rows.reduce((n, r) => n + r.count, 0), ATTEMPTS);
  });
});
