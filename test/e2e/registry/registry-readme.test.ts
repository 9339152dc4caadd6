import assert from 'node:assert/strict';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { hostileTar, projectTars, sha256Of } from '../../helpers/registry.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { runSsh } from '../../helpers/ssh.js';
import { startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** deploy-tools' README, walked with OpenSSH sftp and ssh against a ship, the configuration served by a service. */
describe('registry: the deploy-tools README flow', () => {
  const root = tmpDir('sp-registry-');
  const dataDir = join(root, 'data');
  let ship: ShipProcess;
  let admiral: TestKey;
  let tars: { code: string; configs: string[] };

  before(async () => {
    admiral = makeKey(root, 'admiral');
    tars = projectTars(root, 'program body v1', ['config v1', 'config v2', 'config v3']);
    initRepo(join(root, 'hq'), { 'authorized_keys/admiral': admiral.pub, 'p1/orders': 'autodeploy registry:project1\n' });
    ship = await startShip({ headquarters: join(root, 'hq'), dataDir, env: { STARPHLEET_INCOMING_MAX_BYTES: String(4 * 1024 * 1024) } });
    await ship.waitForLog(/ssh listening on/, 60_000);
    await ship.waitForLog(/\d+ admirals/, 60_000);
  });
  after(async () => {
    await ship?.stop();
    await killRecordedInstances(dataDir);
  });

  const reg = async (...args: string[]) => {
    const r = await runSsh({ key: admiral.privatePath, port: ship.sshPort, args: ['starphleet', 'registry', ...args], timeoutMs: 60_000 });
    return { code: r.code, out: r.stdout.toString(), err: r.stderr };
  };
  const put = (file: string, dest = '') => sftpBatch({ key: admiral.privatePath, port: ship.sshPort, lines: [`put ${file}${dest ? ` ${dest}` : ''}`], cwd: root });
  const body = async () => (await httpGet(ship.httpPort, '/p1/')).body;

  it('put, addver, addconf: the configuration serves as a service', async () => {
    // "echo put code_v1.tar.gz | sftp ...": into / as written, and into /incoming/.
    const up1 = await put('code_v1.tar.gz');
    assert.equal(up1.code, 0, up1.stderr);
    const up2 = await put('config_v1.tar.gz', '/incoming/whatever-name');
    assert.equal(up2.code, 0, up2.stderr);
    const ls = await sftpBatch({ key: admiral.privatePath, port: ship.sshPort, lines: ['ls /incoming'], cwd: root });
    assert.match(ls.stdout, new RegExp(sha256Of(tars.code)), 'the upload is stored by its sha256');

    let r = await reg('addver', '-name', 'code', '-version', 'v01', '-hash', sha256Of(tars.code));
    assert.equal(r.code, 0, r.err);
    r = await reg('addver', '-name', 'config', '-version', 'v01', '-hash', sha256Of(tars.configs[0] as string));
    assert.equal(r.code, 0, r.err);
    r = await reg('showcomp', '-name', 'config');
    assert.match(r.out, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ\tv01\n$/);
    r = await reg('addconf', '-name', 'project1', '-layer', 'code:v01', '-layer', 'config:v01');
    assert.equal(r.code, 0, r.err);
    r = await reg('showconf', '-name', 'project1');
    assert.match(r.out, /^code\tv01\t\S+Z\nconfig\tv01\t\S+Z\n$/);
    assert.equal((await reg('components')).out, 'code\nconfig\n');
    assert.equal((await reg('configurations')).out, 'project1\n');

    await waitFor(async () => (await body()) === 'program body v1\nconfig v1\n', 'project1 to serve v1', 180_000, 500);

    // The configuration over SFTP: layers in order, each archive at its sha256.
    const got = await sftpBatch({ key: admiral.privatePath, port: ship.sshPort, lines: ['get /registry/configs/project1.json', `get /registry/layers/${sha256Of(tars.code)}.tar.gz`], cwd: tmpDir('sp-registry-get-') });
    assert.equal(got.code, 0, got.stderr);
    const conf = JSON.parse(readFileSync(join(got.cwd, 'project1.json'), 'utf8')) as { layers: { component: string; version: string; sha256: string; size: number }[] };
    assert.deepEqual(conf.layers.map((l) => [l.component, l.version, l.sha256]), [['code', 'v01', sha256Of(tars.code)], ['config', 'v01', sha256Of(tars.configs[0] as string)]]);
    assert.equal(sha256Of(join(got.cwd, `${sha256Of(tars.code)}.tar.gz`)), sha256Of(tars.code));
  });

  it('changeconf serves the new tree within a pulse; bumpconf picks the newest', async () => {
    assert.equal((await put('config_v2.tar.gz')).code, 0);
    assert.equal((await reg('addver', '-name', 'config', '-version', 'v02', '-hash', sha256Of(tars.configs[1] as string))).code, 0);
    const r = await reg('changeconf', '-name', 'project1', '-component', 'config', '-version', 'v02');
    assert.equal(r.code, 0, r.err);
    await waitFor(async () => (await body()) === 'program body v1\nconfig v2\n', 'project1 to serve config v2', 180_000, 500);

    assert.equal((await put('config_v3.tar.gz')).code, 0);
    assert.equal((await reg('addver', '-name', 'config', '-version', 'v03', '-hash', sha256Of(tars.configs[2] as string))).code, 0);
    const b = await reg('bumpconf', '-name', 'project1', '-component', 'config');
    assert.equal(b.code, 0, b.err);
    assert.equal(b.out, 'config\tv03\n');
    await waitFor(async () => (await body()) === 'program body v1\nconfig v3\n', 'project1 to serve config v3', 180_000, 500);
  });

  it('refuses a bad tar, a traversal member, a hash not uploaded and deleting a used version, changing nothing', async () => {
    writeFileSync(join(root, 'bad.tar.gz'), 'this is not a gzip tar\n');
    hostileTar(join(root, 'dotdot.tar.gz'), 'dotdot');
    for (const [file, message] of [['bad.tar.gz', /not a gzip/], ['dotdot.tar.gz', /contains '\.\.'/]] as const) {
      assert.equal((await put(file)).code, 0);
      const r = await reg('addver', '-name', 'evil', '-version', 'v1', '-hash', sha256Of(join(root, file)));
      assert.equal(r.code, 1, r.err);
      assert.match(r.err, message);
    }
    const missing = await reg('addver', '-name', 'evil', '-version', 'v1', '-hash', 'a'.repeat(64));
    assert.equal(missing.code, 1);
    assert.match(missing.err, /no upload with sha256 a{64}/);
    const used = await reg('delver', '-name', 'config', '-version', 'v03');
    assert.equal(used.code, 1);
    assert.match(used.err, /used by configuration project1/);
    assert.equal((await reg('components')).out, 'code\nconfig\n');
    assert.match((await reg('showcomp', '-name', 'config')).out, /v01\n.*v02\n.*v03\n$/s);
    assert.equal((await reg('delver', '-name', 'config', '-version', 'v01')).code, 0, 'an unused version may go');
    const usage = await reg('addver', '-name', 'x');
    assert.equal(usage.code, 2);
    assert.match(usage.err, /-version is required/);
  });

  it('writes only new files in / and /incoming/; the quota discards an upload', async () => {
    const attempts = ['put code_v1.tar.gz /services/x', 'put code_v1.tar.gz /registry/layers/x', 'put code_v1.tar.gz /data/x'];
    for (const line of attempts) {
      const r = await sftpBatch({ key: admiral.privatePath, port: ship.sshPort, lines: [line], cwd: root });
      assert.notEqual(r.code, 0, line);
      assert.match(r.stderr, /Permission denied|No such file/, `${line}: ${r.stderr}`);
    }
    // 5 MiB of random bytes over the 4 MiB quota: refused, and nothing of it stays.
    const big = join(root, 'big.bin');
    writeFileSync(big, Buffer.alloc(5 * 1024 * 1024, 7));
    const before = readdirSync(join(dataDir, 'registry', 'incoming')).length;
    const r = await put('big.bin');
    assert.notEqual(r.code, 0, 'over the quota');
    await waitFor(() => readdirSync(join(dataDir, 'registry', 'incoming')).length === before, 'the partial upload to be discarded', 30_000);
  });
});
