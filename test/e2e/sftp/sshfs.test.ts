import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { tmpDir } from '../../helpers/tmp.js';
import { COMMIT_TIME, startViewShip, type ViewShip } from '../../helpers/view-ship.js';

const run = promisify(execFile);
const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function mounted(dir: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8').split('\n').some((l) => l.split(' ')[1] === dir);
}

describe('sshfs mounts the read-only view', () => {
  let v: ViewShip;
  const mounts: string[] = [];

  before(async () => {
    v = await startViewShip();
  });
  after(async () => {
    // Unmount even when a test failed: a FUSE mount left behind would outlive the test run.
    for (const m of mounts) if (mounted(m)) execFileSync('fusermount', ['-u', m]);
    await v?.stop();
  });

  const mount = async (extra: readonly string[]): Promise<string> => {
    const dir = tmpDir('sp-sshfs-');
    mounts.push(dir);
    const options = ['StrictHostKeyChecking=no', 'UserKnownHostsFile=/dev/null', 'IdentitiesOnly=yes', 'BatchMode=yes', `IdentityFile=${v.admiral.privatePath}`,
      `port=${v.ship.sshPort}`, 'LogLevel=ERROR', ...extra];
    await run('sshfs', ['-o', options.join(','), 'admiral@127.0.0.1:/', dir], { timeout: 60_000 });
    assert.ok(mounted(dir), 'sshfs returned with the view mounted');
    return dir;
  };

  it('-o ro: a release file and a layer read through the mount match the release byte for byte, then it unmounts', async () => {
    const dir = await mount(['ro']);
    assert.deepEqual(readdirSync(dir).sort(), ['configs', 'data', 'incoming', 'layers', 'logs', 'registry', 'services']);
    const file = join(dir, 'services', 'site', 'current', 'index.html');
    const committed = execFileSync('git', ['show', `${v.sha}:index.html`], { cwd: v.app });
    assert.equal(sha256(readFileSync(file)), sha256(committed));
    const st = statSync(file);
    assert.equal(st.mode & 0o777, 0o444);
    assert.equal(Math.floor(st.mtimeMs / 1000), COMMIT_TIME);
    const layers = readdirSync(join(dir, 'layers'));
    assert.ok(layers.length >= 2);
    for (const name of layers) assert.equal(sha256(readFileSync(join(dir, 'layers', name))), name.replace(/\.tar\.gz$/, ''), `layer ${name}`);
    assert.throws(() => writeFileSync(join(dir, 'data', 'x.txt'), 'no'), /EROFS|EACCES|EPERM/);
    await run('fusermount', ['-u', dir]);
    assert.equal(mounted(dir), false, 'unmounted');
  });

  it('mounted without -o ro it still refuses every change, and df works (statvfs)', async () => {
    const dir = await mount([]);
    assert.throws(() => writeFileSync(join(dir, 'data', 'x.txt'), 'no'), /EACCES|EPERM|EROFS/);
    assert.throws(() => writeFileSync(join(dir, 'services', 'site', 'current', 'index.html'), 'defaced'), /EACCES|EPERM|EROFS/);
    assert.equal(readdirSync(join(v.dataDir, 'data')).includes('x.txt'), false);
    const df = await run('df', ['-P', dir]);
    assert.match(df.stdout, /admiral@127\.0\.0\.1:\/\s+\d+\s+\d+\s+\d+/);
    await run('fusermount', ['-u', dir]);
    assert.equal(mounted(dir), false);
  });
});
