import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { auditCommand } from '../../../src/commands/audit.js';
import type { CommandContext } from '../../../src/commands/command.js';
import type { Ship } from '../../../src/ship.js';
import { auditAuth, auditSessionEnd, auditSessionStart } from '../../../src/state/audit.js';
import { openDb, type Db } from '../../../src/state/db.js';
import { tmpDir } from '../../helpers/tmp.js';

async function run(db: Db, args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  // The command only reads ship.db; the rest of the ship is not needed to test its output.
  const ctx: CommandContext = {
    ship: { db } as unknown as Ship,
    caller: { via: 'cli' },
    out: (t) => (out += t),
    err: (t) => (err += t),
    signal: new AbortController().signal,
  };
  const code = await auditCommand.run(args, ctx);
  return { code, out, err };
}

describe('starphleet audit', () => {
  it('shows logins and sessions newest first, as text and JSON; refused attempts are counted apart', async () => {
    const db = openDb(join(tmpDir('sp-audit-'), 'state.db'));
    assert.match((await run(db, [])).out, /no audit entries/);
    auditAuth(db, { user: 'root', fingerprint: 'SHA256:bad', keyFile: null, remote: '10.1.2.3', ok: false, method: 'publickey', message: 'no such user "root"' });
    auditAuth(db, { user: 'admiral', fingerprint: 'SHA256:good', keyFile: 'authorized_keys/me', remote: '10.1.2.4', ok: true, method: 'publickey', message: '' });
    const id = auditSessionStart(db, { kind: 'exec', user: 'admiral', fingerprint: 'SHA256:good', keyFile: 'authorized_keys/me', remote: '10.1.2.4', command: 'exit 3', pty: false });
    auditSessionEnd(db, id, { exitCode: 3, signal: null, durationMs: 1500 });
    const text = await run(db, []);
    assert.equal(text.code, 0);
    const lines = text.out.trim().split('\n');
    assert.equal(lines.length, 3);
    assert.match(lines[0] ?? '', /exec .*SHA256:good.*"exit 3" -> exit 3 after 1\.5s/);
    assert.match(lines[1] ?? '', /auth {2}accepted {2}admiral SHA256:good \(authorized_keys\/me\) from 10\.1\.2\.4/);
    assert.equal(lines[2], '1 failed authentications in the last 24 hours (starphleet audit --failures)');
    const failed = await run(db, ['--failures']);
    assert.match(failed.out, /^\d{4}-\d\d-\d\dT\d\d:\d\d {2}1x {2}root SHA256:bad from 10\.1\.2\.3 \(publickey\): no such user "root"\n$/);
    const json = JSON.parse((await run(db, ['-n', '1', '--json'])).out) as { kind: string; exitCode: number }[];
    assert.equal(json.length, 1);
    assert.equal(json[0]?.exitCode, 3);
    const bad = await run(db, ['-n', 'x']);
    assert.equal(bad.code, 2);
    assert.match(bad.err, /bad argument "-n".*\n.*usage/);
    db.close();
  });
});
