import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { startSshShip, type SshShip } from '../../helpers/ssh.js';
import { waitFor } from '../../helpers/wait.js';
import { PACKAGE } from '../../../src/version.js';

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('ssh exec as admiral (OpenSSH client)', () => {
  let s: SshShip;
  before(async () => {
    s = await startSshShip();
  });
  after(async () => {
    await s?.ship.stop();
  });

  it('runs the command through bash and prints its output', async () => {
    const r = await s.ssh(['echo $((6*7))']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.toString(), '42\n');
  });

  it('returns the exit status', async () => {
    const r = await s.ssh(['exit 3']);
    assert.equal(r.code, 3);
  });

  it('keeps stdout and stderr apart', async () => {
    const r = await s.ssh(['echo out; echo err >&2; echo out2']);
    assert.equal(r.code, 0);
    assert.equal(r.stdout.toString(), 'out\nout2\n');
    assert.equal(r.stderr, 'err\n');
  });

  it('round-trips 10 MB of stdin through cat byte-exact, EOF included', async () => {
    const input = join(s.dir, 'ten-mb');
    const data = randomBytes(10 * 1024 * 1024);
    writeFileSync(input, data);
    const r = await s.ssh(['cat'], { stdin: input });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.length, data.length);
    assert.equal(sha(r.stdout), sha(data));
  });

  it('reports a command killed by a signal, not a normal exit', async () => {
    const r = await s.ssh(['kill -TERM $$']);
    // OpenSSH prints no status for exit-signal and exits 255; a normal exit would have been 0.
    assert.equal(r.code, 255, r.stderr);
    const row = await waitFor(() => latestSession(s, 'kill -TERM $$'), 'audit row with the signal');
    assert.equal(row.signal, 'TERM');
    assert.equal(row.exit_code, null);
  });

  it('gives a clean session environment and forwards env requests', async () => {
    const r = await s.ssh(['echo "$USER|$HOME|$SHELL|$PATH|$STARPHLEET_DATA|$SSH_CONNECTION|$GREETING|${NODE_OPTIONS-unset}"'], {
      options: ['-o', 'SetEnv=GREETING=ahoy'],
    });
    assert.equal(r.code, 0, r.stderr);
    const [user, home, shell, path, data, conn, greeting, nodeOptions] = r.stdout.toString().trim().split('|');
    assert.equal(user, 'admiral');
    assert.ok(home && home.startsWith('/'), `HOME ${home}`);
    assert.equal(shell, '/bin/bash');
    assert.equal(path, `${s.ship.dataDir}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`);
    assert.equal(data, s.ship.dataDir);
    assert.match(conn ?? '', new RegExp(`^127\\.0\\.0\\.1 \\d+ 127\\.0\\.0\\.1 ${s.port}$`));
    assert.equal(greeting, 'ahoy');
    assert.equal(nodeOptions, 'unset', 'the ship env must not leak into sessions');
  });

  it('a client env request cannot override what the server sets', async () => {
    const r = await s.ssh(['echo "$USER $PATH"'], { options: ['-o', 'SetEnv=USER=root PATH=/evil'] });
    assert.equal(r.code, 0, r.stderr);
    const [user, path] = r.stdout.toString().trim().split(' ');
    assert.equal(user, 'admiral');
    assert.doesNotMatch(path ?? '', /evil/);
  });

  it('runs a login shell without a PTY on stdin (ssh -T)', async () => {
    const script = join(s.dir, 'script.sh');
    writeFileSync(script, 'echo from-stdin-$((2+3))\nexit 4\n');
    const r = await s.ssh([], { options: ['-T'], stdin: script });
    assert.equal(r.code, 4, r.stderr);
    assert.match(r.stdout.toString(), /from-stdin-5/);
  });

  it('records logins and commands with exit status and duration in the audit', async () => {
    const r = await s.ssh(['echo audited; exit 7']);
    assert.equal(r.code, 7);
    const row = await waitFor(() => latestSession(s, 'echo audited; exit 7'), 'audit row');
    assert.equal(row.kind, 'exec');
    assert.equal(row.user, 'admiral');
    assert.equal(row.fingerprint, s.admiral.fingerprint);
    assert.equal(row.key_file, 'authorized_keys/admiral');
    assert.equal(row.remote, '127.0.0.1');
    assert.equal(row.exit_code, 7);
    assert.ok(typeof row.duration_ms === 'number' && row.duration_ms >= 0);
    const db = new Database(join(s.ship.dataDir, 'state.db'), { readonly: true });
    try {
      const auth = db.prepare("SELECT * FROM audit WHERE kind = 'auth' AND ok = 1 ORDER BY id DESC LIMIT 1").get() as Record<string, unknown>;
      assert.equal(auth.fingerprint, s.admiral.fingerprint);
      assert.equal(auth.user, 'admiral');
      assert.equal(auth.remote, '127.0.0.1');
    } finally {
      db.close();
    }
  });

  it('starphleet version and status --json work through ssh (the ship CLI on PATH)', async () => {
    const v = await s.ssh(['starphleet version']);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.toString().trim(), PACKAGE.version);
    const st = await s.ssh(['starphleet status --json']);
    assert.equal(st.code, 0, st.stderr);
    const json = JSON.parse(st.stdout.toString()) as { ship?: { name?: string } };
    assert.equal(json.ship?.name, 'testship');
  });
});

interface AuditRow {
  kind: string;
  user: string;
  fingerprint: string;
  key_file: string;
  remote: string;
  exit_code: number | null;
  signal: string | null;
  duration_ms: number | null;
}

/** The audit row of a finished session with this command, read from the ship's state db. */
function latestSession(s: SshShip, command: string): AuditRow | undefined {
  const db = new Database(join(s.ship.dataDir, 'state.db'), { readonly: true });
  try {
    const row = db.prepare('SELECT * FROM audit WHERE command = ? ORDER BY id DESC LIMIT 1').get(command) as AuditRow | undefined;
    return row && row.duration_ms !== null ? row : undefined;
  } finally {
    db.close();
  }
}
