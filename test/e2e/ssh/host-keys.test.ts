import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { silent } from '../../../src/log.js';
import { loadHostKeys } from '../../../src/server/transport/host-keys.js';
import { initRepo } from '../../helpers/git.js';
import { startShip } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';

/** What the OpenSSH client sees: ssh-keyscan's keys, fingerprinted by ssh-keygen. */
function scannedFingerprints(port: number): string[] {
  const scan = execFileSync('ssh-keyscan', ['-p', String(port), '-t', 'ed25519,rsa', '127.0.0.1'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  const fps = execFileSync('ssh-keygen', ['-lf', '-'], { input: scan, encoding: 'utf8' });
  return fps.trim().split('\n').map((l) => l.split(' ')[1] as string).sort();
}

describe('ssh host keys', () => {
  it('are generated once with mode 0600 and reused; a damaged key is an error naming the file', () => {
    const dir = tmpDir('sp-hk-');
    const first = loadHostKeys(dir, silent);
    assert.deepEqual(first.map((k) => k.type), ['ssh-ed25519', 'ssh-rsa']);
    for (const k of first) assert.equal(statSync(k.path).mode & 0o777, 0o600, k.path);
    const second = loadHostKeys(dir, silent);
    assert.deepEqual(second.map((k) => k.fingerprint), first.map((k) => k.fingerprint));
    const ed = first[0]?.path as string;
    writeFileSync(ed, 'not a key\n');
    assert.throws(() => loadHostKeys(dir, silent), new RegExp(`${ed.replace(/[/.]/g, '\\$&')}: not a usable OpenSSH private key`));
  });

  it('keep the same fingerprints, as logged and as a client sees them, across ship restarts', async () => {
    const dir = tmpDir('sp-hk-ship-');
    const hq = join(dir, 'hq');
    initRepo(hq, { 'authorized_keys/.keep': '' });
    const data = join(dir, 'data');
    const logged = async (): Promise<{ logged: string[]; seen: string[] }> => {
      const ship = await startShip({ headquarters: hq, dataDir: data });
      try {
        await ship.waitForLog(/ssh listening on/);
        // Up to its data plane, so the stop below has a plane to stop rather than one still starting.
        await ship.waitForLog(/data plane: (started|adopted) pid/);
        const fps = [...ship.output().matchAll(/ssh host key \S+ (SHA256:\S+)/g)].map((m) => m[1] as string).sort();
        return { logged: fps, seen: scannedFingerprints(ship.sshPort) };
      } finally {
        await ship.stop();
      }
    };
    const a = await logged();
    const b = await logged();
    assert.equal(a.logged.length, 2);
    assert.deepEqual(a.seen, a.logged);
    assert.deepEqual(b.logged, a.logged);
    assert.deepEqual(b.seen, a.logged);
  });
});
