import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import ssh2 from 'ssh2';
import { fixtureRepo } from '../../helpers/fixtures.js';
import { commit, gitIn, initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { scpGet, sftpBatch } from '../../helpers/sftp.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { COMMIT_DATE, COMMIT_TIME } from '../../helpers/view-ship.js';
import { waitFor } from '../../helpers/wait.js';

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** relative path -> what it is: file (sha256), dir, or link (its target). */
function tree(dir: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const name of readdirSync(join(dir, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    const st = lstatSync(join(dir, p));
    if (st.isSymbolicLink()) out.set(p, `link ${readlinkSync(join(dir, p))}`);
    else if (st.isDirectory()) {
      out.set(p, 'dir');
      for (const [k, v] of tree(dir, p)) out.set(k, v);
    } else out.set(p, `file ${sha256(readFileSync(join(dir, p)))}`);
  }
  return out;
}

describe('sftp: the read-only deployed view (OpenSSH sftp and scp)', () => {
  const root = tmpDir('sp-sftp-e2e-');
  const dataDir = join(root, 'data');
  const app = join(root, 'echo-app');
  let ship: ShipProcess;
  let admiral: TestKey;
  let restricted: TestKey;
  let appSha: string;

  before(async () => {
    admiral = makeKey(root, 'admiral');
    restricted = makeKey(root, 'restricted');
    fixtureRepo('node-app', app);
    symlinkSync('/etc/passwd', join(app, 'passwd'));
    symlinkSync('server.js', join(app, 'server-link.js'));
    commit(app, {}, 'links');
    // A commit time far from now and from 1970: the view must show exactly this for the source files.
    execFileSync('git', ['commit', '-q', '--amend', '--no-edit', `--date=${COMMIT_DATE}`], {
      cwd: app,
      env: { ...process.env, GIT_COMMITTER_DATE: COMMIT_DATE, GIT_COMMITTER_NAME: 'Test Admiral', GIT_COMMITTER_EMAIL: 'admiral@example.com' },
    });
    appSha = gitIn(app, 'rev-parse', 'HEAD');
    initRepo(join(root, 'hq'), {
      'authorized_keys/admiral': admiral.pub,
      'authorized_keys/restricted': `restrict ${restricted.pub}`,
      'echo/orders': `autodeploy ${app}\n`,
    });
    ship = await startShip({ headquarters: join(root, 'hq'), dataDir });
    await waitFor(async () => (await httpGet(ship.httpPort, '/echo/')).status === 200, 'echo to serve', 120_000, 250);
  });
  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  const sftp = (lines: string[], o: { key?: TestKey; cwd?: string } = {}) => sftpBatch({ key: (o.key ?? admiral).privatePath, port: ship.sshPort, lines, ...(o.cwd ? { cwd: o.cwd } : {}) });

  it('lists the serving release with the right sizes and gets files byte-identical to the git tree', async () => {
    const cwd = tmpDir('sp-get-');
    const r = await sftp(['ls -l /services/echo/current', 'get /services/echo/current/server.js', 'get /services/echo/current/package.json'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    for (const f of ['server.js', 'package.json']) {
      const expected = Buffer.from(gitIn(app, 'show', `${appSha}:${f}`) + '\n');
      const size = new RegExp(`\\s${expected.length}\\s+\\w{3}\\s+\\d+\\s+[\\d:]+\\s+${f.replace('.', '\\.')}$`, 'm');
      assert.match(r.stdout, size, `ls -l shows ${f} with ${expected.length} bytes:\n${r.stdout}`);
      assert.equal(sha256(readFileSync(join(cwd, f))), sha256(expected), f);
    }
    assert.match(r.stdout, /^l.* passwd$/m, 'the link is shown as a link');
  });

  it('layers are named by their sha256 and unpack, in order, into exactly the current tree', async () => {
    const cwd = tmpDir('sp-layers-');
    const r = await sftp(['get /configs/echo.json'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    const config = JSON.parse(readFileSync(join(cwd, 'echo.json'), 'utf8')) as { id: string; layers: { component: string; sha256: string; size: number }[] };
    assert.deepEqual(config.layers.map((l) => l.component), ['source', 'build', 'config']);
    const got = await sftp(config.layers.map((l) => `get /layers/${l.sha256}.tar.gz`), { cwd });
    assert.equal(got.code, 0, got.stderr);
    const unpacked = join(cwd, 'unpacked');
    mkdirSync(unpacked);
    for (const l of config.layers) {
      const bytes = readFileSync(join(cwd, `${l.sha256}.tar.gz`));
      assert.equal(sha256(bytes), l.sha256, 'the file sha256 is its name');
      assert.equal(bytes.length, l.size);
      // GNU tar, as an admiral would unpack them (it keeps absolute link targets as they are).
      execFileSync('tar', ['-xzf', join(cwd, `${l.sha256}.tar.gz`), '-C', unpacked]);
    }
    assert.deepEqual(tree(unpacked), tree(join(dataDir, 'services', 'echo', 'releases', config.id)));
    assert.equal(readlinkSync(join(dataDir, 'services', 'echo', 'current')).endsWith(config.id), true, 'the config is the serving release');
  });

  it('refuses every change with permission denied, and changes nothing', async () => {
    const cwd = tmpDir('sp-deny-');
    writeFileSync(join(cwd, 'local.txt'), 'hello');
    const attempts = [
      'put local.txt /data/local.txt',
      'rm /services/echo/current/server.js',
      'rename /services/echo/current/server.js /services/echo/current/x.js',
      'mkdir /data/newdir',
      'rmdir /services/echo/current/node_modules',
      'chmod 777 /services/echo/current/server.js',
      'ln -s /services/echo/current/server.js /data/link',
    ];
    for (const line of attempts) {
      const r = await sftp([line], { cwd });
      assert.notEqual(r.code, 0, line);
      assert.match(r.stderr, /Permission denied/, `${line}: ${r.stderr}`);
    }
    const after = await sftp(['ls /data', 'ls /services/echo/current']);
    assert.doesNotMatch(after.stdout, /local\.txt|newdir|x\.js/);
    assert.match(after.stdout, /server\.js/);
  });

  it('.. stays at /, and a link out of the release cannot be read', async () => {
    const cwd = tmpDir('sp-escape-');
    const r = await sftp(['cd /services/echo/current', 'cd ../../../../../..', 'pwd', 'ls'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Remote working directory: \/\n/);
    const listing = r.stdout.split('sftp> ls\n')[1] ?? '';
    assert.deepEqual(listing.trim().split(/\s+/).sort(), ['configs', 'data', 'incoming', 'layers', 'logs', 'registry', 'services']); // /incoming and /registry: #22
    const passwd = await sftp(['get /services/echo/current/passwd'], { cwd });
    assert.notEqual(passwd.code, 0);
    assert.throws(() => readFileSync(join(cwd, 'passwd')));
    const etc = await sftp(['get /etc/passwd', 'get ../../etc/passwd'], { cwd });
    assert.notEqual(etc.code, 0);
    const inside = await sftp(['get /services/echo/current/server-link.js'], { cwd });
    assert.equal(inside.code, 0, 'a link inside the release is followed');
    assert.equal(readFileSync(join(cwd, 'server-link.js'), 'utf8'), readFileSync(join(app, 'server.js'), 'utf8'));
  });

  it('scp copies a file and exits 0', async () => {
    const cwd = tmpDir('sp-scp-');
    const r = await scpGet({ key: admiral.privatePath, port: ship.sshPort, remote: '/services/echo/current/package.json', cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(readFileSync(join(cwd, 'package.json'), 'utf8'), readFileSync(join(app, 'package.json'), 'utf8'));
  });

  it('lists a directory of 10,000 entries and streams a large file intact', async () => {
    const many = join(dataDir, 'data', 'many');
    mkdirSync(many, { recursive: true });
    for (let i = 0; i < 10_000; i++) writeFileSync(join(many, `f${String(i).padStart(5, '0')}`), '');
    const big = Buffer.alloc(64 * 1024 * 1024);
    for (let i = 0; i < big.length; i += 4096) big.writeUInt32BE(i, i);
    writeFileSync(join(dataDir, 'data', 'big.bin'), big);
    const cwd = tmpDir('sp-many-');
    const r = await sftp(['ls -1 /data/many', 'get /data/big.bin'], { cwd });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout.split('\n').filter((l) => /^\/data\/many\/f\d{5}$|^f\d{5}$/.test(l.trim())).length, 10_000);
    assert.equal(sha256(readFileSync(join(cwd, 'big.bin'))), sha256(big));
  });

  it('a key restricted by `restrict` gets sftp: restrict takes away ptys and forwarding, not file transfer', async () => {
    const r = await sftp(['ls /'], { key: restricted });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /services/);
  });

  it('a client opening thousands of handles is refused gracefully and the ship keeps serving', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.on('ready', () => resolve()).on('error', reject);
      client.connect({ host: '127.0.0.1', port: ship.sshPort, username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    });
    const sftpClient = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((e, s) => (e ? reject(e) : resolve(s))));
    let opened = 0;
    let refused = 0;
    await Promise.all(
      Array.from({ length: 2000 }, () =>
        new Promise<void>((resolve) =>
          sftpClient.open('/services/echo/current/server.js', 'r', (e) => {
            if (e) refused++;
            else opened++;
            resolve();
          }),
        ),
      ),
    );
    client.end();
    assert.ok(opened > 0 && opened < 2000, `opened ${opened}`);
    assert.equal(opened + refused, 2000);
    const r = await sftp(['ls /services']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal((await httpGet(ship.httpPort, '/echo/')).status, 200);
  });

  it('shows real dates (commit time for source files, build time for built ones) and read-only modes everywhere', async () => {
    writeFileSync(join(dataDir, 'data', 'writable.txt'), 'rw on disk', { mode: 0o666 });
    writeFileSync(join(dataDir, 'data', 'tool.sh'), '#!/bin/sh\n', { mode: 0o775 });
    const r = await sftp(['ls -l /', 'ls -l /services/echo/current', 'ls -l /services/echo/releases', 'ls -l /data', 'ls -l /configs', 'ls -l /layers']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^-r--r--r-- .* Mar {2}4 {2}2021 server\.js$/m, r.stdout);
    assert.match(r.stdout, /^-r--r--r-- .* writable\.txt$/m);
    assert.match(r.stdout, /^-r-xr-xr-x .* tool\.sh$/m);
    assert.match(r.stdout, /^dr-xr-xr-x .* services$/m);
    const lines = r.stdout.split('\n').filter((l) => /^[-dl][rwxsStT-]{9} /.test(l));
    assert.ok(lines.length >= 15, r.stdout);
    for (const l of lines) assert.doesNotMatch(l.slice(0, 10), /w/, `no write bit in the view: ${l}`);
    // The date columns, not the names: a layer's sha256 name may well contain the digits 1970.
    for (const l of lines) assert.doesNotMatch(l, / 1970 /, `a real date, not the epoch: ${l}`);

    const config = JSON.parse(readFileSync(join(dataDir, 'configs', 'echo.json'), 'utf8')) as { id: string; layers: { component: string; sha256: string }[] };
    const buildLayer = config.layers.find((l) => l.component === 'build');
    assert.ok(buildLayer);
    const builtAt = Math.floor(statSync(join(dataDir, 'layers', `${buildLayer.sha256}.tar.gz`)).mtimeMs / 1000);
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.on('ready', () => resolve()).on('error', reject);
      client.connect({ host: '127.0.0.1', port: ship.sshPort, username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    });
    try {
      const sc = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((e, x) => (e ? reject(e) : resolve(x))));
      const stat = (p: string) => new Promise<ssh2.Stats>((resolve, reject) => sc.stat(p, (e, st) => (e ? reject(e) : resolve(st))));
      assert.equal((await stat('/services/echo/current/server.js')).mtime, COMMIT_TIME, 'source file: the commit time of its sha');
      assert.equal((await stat(`/services/echo/releases/${config.id}/package.json`)).mtime, COMMIT_TIME);
      assert.equal((await stat('/services/echo/current/built.txt')).mtime, builtAt, 'built file: when its layer was made');
      assert.equal((await stat('/services/echo/current/server.js')).mode & 0o7777, 0o444);
      assert.equal((await stat('/services/echo/current')).mode & 0o7777, 0o555);
    } finally {
      client.end();
    }
  });

  it('advertises limits@openssh.com, so OpenSSH sftp reads 255 KiB at a time, and answers statvfs (df)', async () => {
    const cwd = tmpDir('sp-limits-');
    const batch = join(cwd, 'batch');
    writeFileSync(batch, 'df -h /\nget /services/echo/current/server.js\n');
    const out = openSync(join(cwd, 'out'), 'w');
    const err = openSync(join(cwd, 'err'), 'w');
    const code = await new Promise<number | null>((resolve) => {
      const c = spawn('sftp', ['-vvv', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes',
        '-i', admiral.privatePath, '-P', String(ship.sshPort), '-b', batch, 'admiral@127.0.0.1'], { cwd, stdio: ['ignore', out, err] });
      c.on('close', resolve);
    });
    closeSync(out);
    closeSync(err);
    const stdout = readFileSync(join(cwd, 'out'), 'utf8');
    const stderr = readFileSync(join(cwd, 'err'), 'utf8');
    assert.equal(code, 0, stderr.slice(-2000));
    assert.match(stderr, /Server supports extension "limits@openssh.com" revision 1/);
    assert.match(stderr, /Server supports extension "statvfs@openssh.com" revision 2/);
    assert.match(stderr, /buffer sizes 261120 \/ 261120; using 261120 \/ 261120/);
    assert.match(stdout, /Size\s+Used\s+Avail\s+\(root\)\s+%Capacity/, stdout);
    assert.doesNotMatch(stderr, /does not support/);
  });

  it('current follows the switch, while a file already open keeps reading the old release', async () => {
    const client = new ssh2.Client();
    await new Promise<void>((resolve, reject) => {
      client.on('ready', () => resolve()).on('error', reject);
      client.connect({ host: '127.0.0.1', port: ship.sshPort, username: 'admiral', privateKey: readFileSync(admiral.privatePath) });
    });
    try {
      const sc = await new Promise<ssh2.SFTPWrapper>((resolve, reject) => client.sftp((e, x) => (e ? reject(e) : resolve(x))));
      const handle = await new Promise<Buffer>((resolve, reject) => sc.open('/services/echo/current/server.js', 'r', (e, h) => (e ? reject(e) : resolve(h))));
      const before = readFileSync(join(app, 'server.js'), 'utf8');
      commit(app, { 'server.js': `${before}\n// version two\n` }, 'v2');
      await waitFor(async () => {
        const r = await sftp(['get /services/echo/current/server.js'], { cwd: tmpDir('sp-v2-') });
        return r.code === 0 && /version two/.test(readFileSync(join(r.cwd, 'server.js'), 'utf8'));
      }, 'the new release to show in current', 120_000, 500);
      const buf = Buffer.alloc(before.length + 100);
      const n = await new Promise<number>((resolve, reject) => sc.read(handle, buf, 0, buf.length, 0, (e, bytes) => (e ? reject(e) : resolve(bytes))));
      assert.equal(buf.subarray(0, n).toString(), before, 'the open handle still reads the old release');
    } finally {
      client.end();
    }
  });

  it('every sftp session and file read is audited', async () => {
    const db = new Database(join(dataDir, 'state.db'), { readonly: true });
    const reads = db.prepare("SELECT command, message FROM audit WHERE kind = 'read'").all() as { command: string; message: string }[];
    const sessions = db.prepare("SELECT COUNT(*) AS n FROM audit WHERE kind = 'sftp'").get() as { n: number };
    db.close();
    assert.ok(sessions.n >= 5, `sftp sessions audited: ${sessions.n}`);
    const pkg = reads.find((r) => r.command === '/services/echo/current/package.json');
    assert.ok(pkg, JSON.stringify(reads.slice(0, 5)));
    assert.equal(pkg.message, `${readFileSync(join(app, 'package.json')).length} bytes`);
  });
});
