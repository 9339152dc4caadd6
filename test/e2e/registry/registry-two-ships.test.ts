import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadClientKey } from '../../../src/phleet/client-key.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { httpGet } from '../../helpers/phleet.js';
import { projectTars, sha256Of } from '../../helpers/registry.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { runSsh } from '../../helpers/ssh.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';
import { waitFor } from '../../helpers/wait.js';

/** A second ship follows the first's configuration over SFTP (user ship, its client key, the pinned host key). */
describe('registry: a ship follows another ship\'s configuration', () => {
  const root = tmpDir('sp-registry2-');
  const dataA = join(root, 'a');
  const dataB = join(root, 'b');
  let a: ShipProcess;
  let b: ShipProcess;
  let admiral: TestKey;

  before(async () => {
    admiral = makeKey(root, 'admiral');
    projectTars(root, 'program body v1', ['config v1']);
    // B's client key exists before B starts (made in its data dir, 0600): A's HQ lists it under ships/shipb.
    const bKey = loadClientKey(dataB);
    initRepo(join(root, 'hq-a'), { 'authorized_keys/admiral': admiral.pub, 'ships/shipb': JSON.stringify({ name: 'shipb', clientKey: bKey.publicKey }) });
    a = await startShip({ headquarters: join(root, 'hq-a'), dataDir: dataA, args: ['--name', 'shipa'] });
    await a.waitForLog(/ssh listening on/, 60_000);
    await a.waitForLog(/\d+ admirals/, 60_000);
    for (const f of ['code_v1.tar.gz', 'config_v1.tar.gz']) assert.equal((await sftpBatch({ key: admiral.privatePath, port: a.sshPort, lines: [`put ${f}`], cwd: root })).code, 0);
    const reg = (...args: string[]) => runSsh({ key: admiral.privatePath, port: a.sshPort, args: ['starphleet', 'registry', ...args], timeoutMs: 60_000 });
    assert.equal((await reg('addver', '-name', 'code', '-version', 'v01', '-hash', sha256Of(join(root, 'code_v1.tar.gz')))).code, 0);
    assert.equal((await reg('addver', '-name', 'config', '-version', 'v01', '-hash', sha256Of(join(root, 'config_v1.tar.gz')))).code, 0);
    assert.equal((await reg('addconf', '-name', 'project1', '-layer', 'code:v01', '-layer', 'config:v01')).code, 0);

    const fp = execFileSync('ssh-keygen', ['-lf', join(dataA, 'host_keys', 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).split(' ')[1] as string;
    const wrong = `SHA256:${'A'.repeat(43)}`;
    initRepo(join(root, 'hq-b'), {
      'authorized_keys/admiral': admiral.pub,
      'p1/orders': `autodeploy registry://127.0.0.1:${a.sshPort}/project1#fp=${fp}\n`,
      'wrong/orders': `autodeploy registry://127.0.0.1:${a.sshPort}/project1#fp=${wrong}\n`,
    });
    b = await startShip({ headquarters: join(root, 'hq-b'), dataDir: dataB, args: ['--name', 'shipb'], httpPort: await freePort() });
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await killRecordedInstances(dataB);
    await killRecordedInstances(dataA);
  });

  it('the second ship serves the same tree, each layer verified by sha256', async () => {
    await waitFor(async () => (await httpGet(b.httpPort, '/p1/')).body === 'program body v1\nconfig v1\n', 'ship B to serve project1', 240_000, 500);
    assert.match(a.output(), /ssh ship \S+ \(ships\/shipb\) logged in/);
  });

  it('a wrong fingerprint is refused, and nothing of it serves', async () => {
    await b.waitForLog(/wrong: cannot resolve .*host key of 127\.0\.0\.1:\d+ is SHA256:\S+, not the pinned SHA256:A{43}: refused/, 120_000);
    assert.equal((await httpGet(b.httpPort, '/wrong/')).status === 200, false);
  });

  it('user ship reads only the registry: no shell, no exec, no other part of the view, no writes', async () => {
    const keyFile = join(dataB, 'ship_client_key');
    const ls = await sftpBatch({ key: keyFile, port: a.sshPort, user: 'ship', lines: ['ls /', 'ls /registry/configs'], cwd: tmpDir('sp-ship-ls-') });
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, /project1\.json/);
    for (const line of ['ls /services', 'get /data/x', 'ls /logs', 'put ' + join(root, 'code_v1.tar.gz') + ' /x']) {
      const r = await sftpBatch({ key: keyFile, port: a.sshPort, user: 'ship', lines: [line], cwd: tmpDir('sp-ship-deny-') });
      assert.notEqual(r.code, 0, line);
    }
    const exec = await runSsh({ key: keyFile, port: a.sshPort, user: 'ship', args: ['starphleet', 'status'] });
    assert.notEqual(exec.code, 0);
    assert.match(exec.stderr, /the ship user only reads the registry/);
    // An admiral's key is not a ship's.
    const asShip = await sftpBatch({ key: admiral.privatePath, port: a.sshPort, user: 'ship', lines: ['ls /'], cwd: tmpDir('sp-ship-adm-') });
    assert.notEqual(asShip.code, 0);
  });
});
