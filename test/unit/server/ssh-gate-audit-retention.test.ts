import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { auditAuth, auditSessionStart, latestAudit } from '../../../src/state/audit.js';
import { auditRetentionFromEnv, DEFAULT_AUDIT_RETENTION, latestAuthFailures, pruneAuthFailures, setAuditRetention } from '../../../src/state/auth-failures.js';
import { openDb } from '../../../src/state/db.js';
import { MIGRATIONS } from '../../../src/state/migrations.js';
import { tmpDir } from '../../helpers/tmp.js';

const fail = (user: string) => ({ user, fingerprint: 'SHA256:stranger', keyFile: null, remote: '10.9.9.9', ok: false, method: 'publickey', message: 'key is not an admiral' });

describe('audit retention: admirals and strangers apart, by age and count, configurable', () => {
  after(() => setAuditRetention(DEFAULT_AUDIT_RETENTION));

  it('reads STARPHLEET_AUDIT_* and STARPHLEET_AUTH_FAILURES_*; a bad value names its variable', () => {
    assert.deepEqual(auditRetentionFromEnv({}), DEFAULT_AUDIT_RETENTION);
    assert.deepEqual(auditRetentionFromEnv({ STARPHLEET_AUDIT_KEEP: '500', STARPHLEET_AUDIT_KEEP_DAYS: '7', STARPHLEET_AUTH_FAILURES_KEEP: '40', STARPHLEET_AUTH_FAILURES_KEEP_DAYS: '2' }), {
      admirals: { keep: 500, keepDays: 7 },
      failures: { keep: 40, keepDays: 2 },
    });
    assert.throws(() => auditRetentionFromEnv({ STARPHLEET_AUTH_FAILURES_KEEP: '0' }), /STARPHLEET_AUTH_FAILURES_KEEP must be an integer >= 1, got "0"/);
    assert.throws(() => auditRetentionFromEnv({ STARPHLEET_AUDIT_KEEP_DAYS: '1.5' }), /STARPHLEET_AUDIT_KEEP_DAYS must be an integer/);
  });

  it('failures are counted per minute, address, user, key and reason, kept to their count and age, and never touch the admirals\' trail', () => {
    const db = openDb(join(tmpDir('sp-retention-'), 'state.db'));
    setAuditRetention({ admirals: { keep: 50, keepDays: 365 }, failures: { keep: 20, keepDays: 1 } });
    auditAuth(db, { user: 'admiral', fingerprint: 'SHA256:good', keyFile: 'authorized_keys/me', remote: '127.0.0.1', ok: true, method: 'publickey', message: '' });
    auditSessionStart(db, { kind: 'exec', user: 'admiral', fingerprint: 'SHA256:good', keyFile: 'authorized_keys/me', remote: '127.0.0.1', command: 'uptime', pty: false });
    for (let i = 0; i < 500; i++) auditAuth(db, fail('root'));
    const same = latestAuthFailures(db, 100);
    assert.ok(same.length <= 2, 'one row per minute for one stranger, user and reason');
    assert.equal(same.reduce((n, r) => n + r.count, 0), 500);
    // A stranger who varies the user name makes rows: the count bound holds them.
    for (let i = 0; i < 400; i++) auditAuth(db, fail(`user${i}`));
    pruneAuthFailures(db);
    assert.equal(latestAuthFailures(db, 1000).length, 20);
    db.prepare("UPDATE auth_failures SET last_at = '2000-01-01T00:00:00.000Z'").run();
    pruneAuthFailures(db);
    assert.equal(latestAuthFailures(db, 1000).length, 0, 'rows older than keepDays go');
    const trail = latestAudit(db, 100);
    assert.deepEqual(trail.map((e) => e.kind).sort(), ['auth', 'exec']);
    db.close();
  });

  it('the admirals\' trail is kept to its own count', () => {
    const db = openDb(join(tmpDir('sp-retention-'), 'state.db'));
    setAuditRetention({ admirals: { keep: 30, keepDays: 365 }, failures: DEFAULT_AUDIT_RETENTION.failures });
    for (let i = 0; i < 300; i++) auditSessionStart(db, { kind: 'exec', user: 'admiral', fingerprint: 'SHA256:good', keyFile: 'authorized_keys/me', remote: '127.0.0.1', command: `n${i}`, pty: false });
    const left = latestAudit(db, 1000);
    assert.ok(left.length <= 30 + 100, `${left.length} entries`);
    assert.equal(left[0]?.command, 'n299', 'the newest stay');
    db.close();
  });

  it('migration 6 moves failed logins out of the admirals\' table and keeps everything else', () => {
    const path = join(tmpDir('sp-migrate-'), 'state.db');
    const old = openDb(path, MIGRATIONS.filter((m) => m.version <= 5));
    const ins = old.prepare('INSERT INTO audit (at, kind, user, fingerprint, key_file, remote, ok, method, command, message) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
    ins.run('2026-01-01T10:00:01.000Z', 'auth', 'root', 'SHA256:x', null, '10.0.0.1', 0, 'publickey', null, 'key is not an admiral');
    ins.run('2026-01-01T10:00:30.000Z', 'auth', 'root', 'SHA256:x', null, '10.0.0.1', 0, 'publickey', null, 'key is not an admiral');
    ins.run('2026-01-01T10:01:00.000Z', 'auth', 'admiral', 'SHA256:good', 'authorized_keys/me', '10.0.0.2', 1, 'publickey', null, '');
    ins.run('2026-01-01T10:01:01.000Z', 'exec', 'admiral', 'SHA256:good', 'authorized_keys/me', '10.0.0.2', null, null, 'uptime', '');
    old.close();
    const db = openDb(path);
    assert.deepEqual(latestAudit(db, 10).map((e) => [e.kind, e.user]), [['exec', 'admiral'], ['auth', 'admiral']]);
    const moved = latestAuthFailures(db, 10);
    assert.deepEqual(moved.map((r) => [r.minute, r.remote, r.user, r.count, r.reason]), [['2026-01-01T10:00', '10.0.0.1', 'root', 2, 'key is not an admiral']]);
    db.close();
  });
});
