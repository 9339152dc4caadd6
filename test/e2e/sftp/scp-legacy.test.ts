import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseScpCommand, shellWords } from '../../../src/server/sftp/scp-command.js';
import { tmpDir } from '../../helpers/tmp.js';
import { COMMIT_TIME, startViewShip, type ViewShip } from '../../helpers/view-ship.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

describe('legacy scp command line', () => {
  it('splits words like a shell, without expanding anything', () => {
    assert.deepEqual(shellWords(`scp -f -- '/data/a b' "/data/c\\"d" e\\ f $HOME *`), ['scp', '-f', '--', '/data/a b', '/data/c"d', 'e f', '$HOME', '*']);
    assert.equal(shellWords(`scp -f '/data/open`), null);
  });
  it('knows download, upload and nonsense apart', () => {
    assert.deepEqual(parseScpCommand('scp -r -p -f -- /services/x'), { kind: 'download', recursive: true, preserve: true, paths: ['/services/x'] });
    assert.deepEqual(parseScpCommand('scp -v -t /data/x'), { kind: 'upload', target: '/data/x' });
    assert.equal(parseScpCommand('scp /data/x').kind, 'bad');
    assert.equal(parseScpCommand('scp -f').kind, 'bad');
    assert.equal(parseScpCommand('scp -S /bin/sh -f /x').kind, 'bad');
    assert.equal(parseScpCommand('bash -c "scp -f /x"').kind, 'bad');
  });
});

interface Run {
  readonly code: number | null;
  readonly stderr: string;
}

describe('legacy scp (scp -O) from the read-only view', () => {
  let v: ViewShip;
  before(async () => {
    v = await startViewShip();
  });
  after(async () => {
    await v?.stop();
  });

  /** Real OpenSSH scp in legacy mode; output through files (never pipes, see shared notes). */
  const scp = (args: readonly string[], cwd: string): Promise<Run> => {
    const errPath = join(tmpDir('sp-scperr-'), 'err');
    const err = openSync(errPath, 'w');
    const child = spawn('scp', ['-O', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
      '-o', 'LogLevel=ERROR', '-i', v.admiral.privatePath, '-P', String(v.ship.sshPort), ...args], { cwd, stdio: ['ignore', 'ignore', err] });
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    return new Promise((resolve) => {
      child.on('close', (code) => {
        clearTimeout(timer);
        closeSync(err);
        resolve({ code, stderr: readFileSync(errPath, 'utf8') });
      });
    });
  };
  const remote = (p: string): string => `admiral@127.0.0.1:${p}`;

  it('gets a release file byte-exact, and with -p its commit time and a read-only mode', async () => {
    const cwd = tmpDir('sp-scp-get-');
    const r = await scp(['-p', remote('/services/site/current/index.html'), '.'], cwd);
    assert.equal(r.code, 0, r.stderr);
    const expected = execGitShow(v, 'index.html');
    assert.equal(sha256(readFileSync(join(cwd, 'index.html'))), sha256(expected));
    const st = statSync(join(cwd, 'index.html'));
    assert.equal(Math.floor(st.mtimeMs / 1000), COMMIT_TIME, 'the commit time of the sha');
    assert.equal(st.mode & 0o777, 0o444);
  });

  it('gets a large binary file byte-exact', async () => {
    const data = randomBytes(5 * 1024 * 1024 + 123);
    writeFileSync(join(v.dataDir, 'data', 'blob.bin'), data);
    const cwd = tmpDir('sp-scp-bin-');
    const r = await scp([remote('/data/blob.bin'), '.'], cwd);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(sha256(readFileSync(join(cwd, 'blob.bin'))), sha256(data));
  });

  it('-r copies a whole release, file for file', async () => {
    const cwd = tmpDir('sp-scp-r-');
    const r = await scp(['-r', remote(`/services/site/releases/${v.releaseId()}`), join(cwd, 'copy')], cwd);
    assert.equal(r.code, 0, r.stderr);
    const release = join(v.dataDir, 'services', 'site', 'releases', v.releaseId());
    const walk = (dir: string, rel = ''): string[] =>
      readdirSync(join(dir, rel), { withFileTypes: true }).flatMap((e) => {
        const p = rel ? `${rel}/${e.name}` : e.name;
        return e.isDirectory() ? walk(dir, p) : [`${p} ${sha256(readFileSync(join(dir, p)))}`];
      }).sort();
    assert.deepEqual(walk(join(cwd, 'copy')), walk(release));
    assert.ok(walk(release).some((l) => l.startsWith('about/index.html ')), 'subdirectories are copied too');
  });

  it('a missing file or a path outside the view fails with "No such file or directory"', async () => {
    const cwd = tmpDir('sp-scp-missing-');
    for (const p of ['/data/nope.txt', '/../../etc/passwd', '/etc/passwd']) {
      const r = await scp([remote(p), '.'], cwd);
      assert.equal(r.code, 1, p);
      assert.match(r.stderr, /No such file or directory/, `${p}: ${r.stderr}`);
    }
    assert.deepEqual(readdirSync(cwd), []);
  });

  it('cannot upload: permission denied, and nothing is written', async () => {
    const cwd = tmpDir('sp-scp-up-');
    writeFileSync(join(cwd, 'up.txt'), 'should never arrive');
    for (const target of ['/data/up.txt', '/services/site/current/up.txt', '/']) {
      const r = await scp([join(cwd, 'up.txt'), remote(target)], cwd);
      assert.notEqual(r.code, 0, target);
      assert.match(r.stderr, /Permission denied/, `${target}: ${r.stderr}`);
    }
    assert.equal(existsSync(join(v.dataDir, 'data', 'up.txt')), false);
    assert.equal(existsSync(join(v.dataDir, 'services', 'site', 'releases', v.releaseId(), 'up.txt')), false);
  });

  it('a shell trick in the path runs nothing: there is no shell', async () => {
    const cwd = tmpDir('sp-scp-trick-');
    const marker = join(tmpDir('sp-scp-marker-'), 'pwned');
    mkdirSync(join(cwd, 'd'));
    const r = await scp([remote(`/services/site/current/index.html;touch ${marker}`), join(cwd, 'd')], cwd);
    assert.notEqual(r.code, 0);
    const r2 = await scp([remote(`/services/site/current/index.html$(touch ${marker})`), join(cwd, 'd')], cwd);
    assert.notEqual(r2.code, 0);
    assert.equal(existsSync(marker), false, 'no command ran on the ship');
  });
});

/** The file's bytes as committed (git show, untrimmed). */
function execGitShow(v: ViewShip, file: string): Buffer {
  return execFileSync('git', ['show', `${v.sha}:${file}`], { cwd: v.app });
}
