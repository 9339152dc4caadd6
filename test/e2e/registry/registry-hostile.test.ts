import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadClientKey } from '../../../src/phleet/client-key.js';
import { registryPaths } from '../../../src/data-dir/registry-paths.js';
import { initRepo } from '../../helpers/git.js';
import { killRecordedInstances } from '../../helpers/instances.js';
import { makeKey, type TestKey } from '../../helpers/keys.js';
import { projectTars, sha256Of, writeTar, type TarMember } from '../../helpers/registry.js';
import { sftpBatch } from '../../helpers/sftp.js';
import { runSsh } from '../../helpers/ssh.js';
import { freePort, startShip, type ShipProcess } from '../../helpers/ship.js';
import { tmpDir } from '../../helpers/tmp.js';

/**
 * Hostile registry layers, as an admiral's upload (addver on ship A) and as another ship's registry (ship B follows a
 * configuration that a hostile ship A serves: its files planted in A's data dir, as whoever owns A could). Every one
 * is refused on both paths, and nothing lands outside a release: `<root>/outside` on the host stays empty.
 */
describe('registry: hostile layers are refused by addver and by a ship following a hostile registry', () => {
  const root = tmpDir('sp-reghostile-');
  const outside = join(root, 'outside');
  const dataA = join(root, 'a');
  const dataB = join(root, 'b');
  // A 2.5 MiB bound for the test (the default is 2 GiB): the bomb below expands to 64 MiB from ~64 KiB.
  const env = { STARPHLEET_ARCHIVE_MAX_BYTES: String(5 * 512 * 1024) };
  let a: ShipProcess;
  let b: ShipProcess;
  let admiral: TestKey;
  // From a release dir, 40 `..` reach `/` whatever the data dir's depth; from there the path to <root>/outside.
  const deep = Array.from({ length: 40 }, () => 'a').join('/');
  const toOutside = `${'../'.repeat(40)}${outside.slice(1)}`;
  const layers: Record<string, { members: TarMember[]; why: RegExp }> = {
    // The reported escape: each link "inside" by its own text, the tree reaching / through a -> . .
    chain: { members: [{ name: 'a', symlink: '.' }, { name: `${deep}/b`, symlink: '../'.repeat(40) }, { name: `b/${outside.slice(1)}/ESCAPED`, file: 'pwned' }], why: /member "a": is a link to itself or a directory above it/ },
    linkchain: { members: [{ name: 'd/', dir: true }, { name: 'l1', symlink: 'd' }, { name: 'l2', symlink: 'l1' }], why: /member "l2": is a link through l1, itself a link/ },
    selfref: { members: [{ name: 'ok.txt', file: 'ok' }, { name: 's', symlink: 's' }], why: /member "s": is a link to itself/ },
    hardout: { members: [{ name: 'h', hardlink: join(root, 'secret') }], why: /member "h": is a hard link whose target is refused: it has an absolute path/ },
    linkout: { members: [{ name: 'x/l', symlink: toOutside }], why: /member "x\/l": is a link leading out of the tree/ },
    parent: { members: [{ name: 'd/', dir: true }, { name: 'e/', dir: true }, { name: 'd', symlink: 'e' }, { name: 'd/ESCAPED', file: 'through the link' }], why: /member "d\/ESCAPED": its parent d is a symbolic link/ },
    bomb: { members: [{ name: 'small', file: 'fine' }, { name: 'big', zeros: 64 * 1024 * 1024 }], why: /member "big": takes the tree past 2621440 bytes \(STARPHLEET_ARCHIVE_MAX_BYTES\)/ },
  };
  const shas: Record<string, string> = {};

  before(async () => {
    mkdirSync(outside);
    writeFileSync(join(root, 'secret'), 'root only\n');
    admiral = makeKey(root, 'admiral');
    projectTars(root, 'program body v1', ['config v1']);
    for (const [kind, l] of Object.entries(layers)) {
      writeTar(join(root, `${kind}.tar.gz`), l.members);
      shas[kind] = sha256Of(join(root, `${kind}.tar.gz`));
    }
    const bKey = loadClientKey(dataB);
    initRepo(join(root, 'hq-a'), { 'authorized_keys/admiral': admiral.pub, 'ships/shipb': JSON.stringify({ name: 'shipb', clientKey: bKey.publicKey }) });
    a = await startShip({ headquarters: join(root, 'hq-a'), dataDir: dataA, args: ['--name', 'shipa'], env });
    await a.waitForLog(/\d+ admirals/, 60_000);
  });
  after(async () => {
    await b?.stop();
    await a?.stop();
    await killRecordedInstances(dataB);
    await killRecordedInstances(dataA);
  });

  it('addver refuses each hostile upload, naming the member and why', async () => {
    assert.ok(statSync(join(root, 'bomb.tar.gz')).size < 300_000, 'the bomb is small');
    const put = await sftpBatch({ key: admiral.privatePath, port: a.sshPort, lines: Object.keys(layers).map((k) => `put ${k}.tar.gz`), cwd: root });
    assert.equal(put.code, 0, put.stderr);
    for (const [kind, l] of Object.entries(layers)) {
      const r = await runSsh({ key: admiral.privatePath, port: a.sshPort, args: ['starphleet', 'registry', 'addver', '-name', kind, '-version', 'v1', '-hash', shas[kind] as string], timeoutMs: 60_000 });
      assert.notEqual(r.code, 0, `${kind} was accepted`);
      assert.match(r.stderr, new RegExp(`refused ${shas[kind]}: `), kind);
      assert.match(r.stderr, l.why, kind);
    }
    assert.deepEqual(readdirSync(outside), []);
    // A plain upload is still taken.
    assert.equal((await sftpBatch({ key: admiral.privatePath, port: a.sshPort, lines: ['put code_v1.tar.gz'], cwd: root })).code, 0);
    const ok = await runSsh({ key: admiral.privatePath, port: a.sshPort, args: ['starphleet', 'registry', 'addver', '-name', 'code', '-version', 'v1', '-hash', sha256Of(join(root, 'code_v1.tar.gz'))], timeoutMs: 60_000 });
    assert.equal(ok.code, 0, ok.stderr);
  });

  it('a ship following the hostile registry refuses each layer and writes nothing outside its releases', async () => {
    // Whoever owns ship A can put anything in its registry: the layers and configurations are planted there directly.
    mkdirSync(registryPaths.layers(dataA), { recursive: true });
    mkdirSync(registryPaths.configs(dataA), { recursive: true });
    const orders: Record<string, string> = { 'authorized_keys/admiral': admiral.pub };
    const fp = execFileSync('ssh-keygen', ['-lf', join(dataA, 'host_keys', 'ssh_host_ed25519_key.pub')], { encoding: 'utf8' }).split(' ')[1] as string;
    const codeSha = sha256Of(join(root, 'code_v1.tar.gz'));
    for (const kind of Object.keys(layers)) {
      const file = join(root, `${kind}.tar.gz`);
      execFileSync('cp', [file, registryPaths.layer(dataA, shas[kind] as string)]);
      const config = {
        name: `evil-${kind}`,
        layers: [
          { component: 'code', version: 'v1', sha256: codeSha, size: statSync(join(root, 'code_v1.tar.gz')).size },
          { component: kind, version: 'v1', sha256: shas[kind], size: statSync(file).size },
        ],
      };
      writeFileSync(registryPaths.config(dataA, `evil-${kind}`), JSON.stringify(config));
      orders[`${kind}/orders`] = `autodeploy registry://127.0.0.1:${a.sshPort}/evil-${kind}#fp=${fp}\n`;
    }
    initRepo(join(root, 'hq-b'), orders);
    b = await startShip({ headquarters: join(root, 'hq-b'), dataDir: dataB, args: ['--name', 'shipb'], httpPort: await freePort(), env });
    for (const [kind, l] of Object.entries(layers)) {
      const line = await b.waitForLog(new RegExp(`${kind}: deploy of \\w+ failed: .*layer ${shas[kind]} from 127\\.0\\.0\\.1:\\d+: .*`), 240_000);
      assert.match(line[0], l.why, kind);
    }
    assert.deepEqual(readdirSync(outside), [], 'nothing written outside the releases');
    for (const kind of Object.keys(layers)) {
      const dir = join(dataB, 'releases', kind);
      assert.deepEqual(existsSync(dir) ? readdirSync(dir) : [], [], `no release of ${kind}`);
    }
    // Ship B still answers its admiral.
    const st = await runSsh({ key: admiral.privatePath, port: b.sshPort, args: ['starphleet', 'status'], timeoutMs: 60_000 });
    assert.equal(st.code, 0, st.stderr);
  });
});
