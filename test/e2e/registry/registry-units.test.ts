import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseRegistryAutodeploy } from '../../../src/headquarters/registry-spec.js';
import { parseAuthorizedKeyFile } from '../../../src/headquarters/keys.js';
import { Registry } from '../../../src/registry/store.js';
import { registryPaths } from '../../../src/data-dir/registry-paths.js';
import { checkLayerArchive } from '../../../src/registry/tar-check.js';
import { authorize, type GateIdentity, type SshRequest } from '../../../src/server/access/gate.js';
import { shipKeys } from '../../../src/server/access/ship-keys.js';
import { DeployedView } from '../../../src/server/sftp/view.js';
import { uploadName } from '../../../src/server/sftp/uploads.js';
import { openDb } from '../../../src/state/db.js';
import { makeKey } from '../../helpers/keys.js';
import { hostileTar, sha256Of } from '../../helpers/registry.js';
import { tmpDir } from '../../helpers/tmp.js';

function smallTar(dir: string, name: string, content: string): string {
  const src = join(dir, `src-${name}`);
  mkdirSync(src, { recursive: true });
  writeFileSync(join(src, 'f.txt'), content);
  const file = join(dir, `${name}.tar.gz`);
  execFileSync('tar', ['czf', file, '-C', src, 'f.txt']);
  return file;
}

/** Puts a file where a finished SFTP upload lands, as uploads.ts would. */
function upload(dataDir: string, file: string): string {
  mkdirSync(registryPaths.incoming(dataDir), { recursive: true });
  const sha = sha256Of(file);
  copyFileSync(file, registryPaths.upload(dataDir, sha));
  return sha;
}

describe('registry (units)', () => {
  it('refuses hostile archives: .., absolute paths, devices, links leading out; accepts a plain tar.gz', async () => {
    const dir = tmpDir('sp-reg-tar-');
    for (const [kind, message] of [
      ['dotdot', /contains '\.\.'/],
      ['absolute', /absolute path/],
      ['device', /CharacterDevice/],
      ['link-out', /link leading out/],
    ] as const) {
      const f = join(dir, `${kind}.tar.gz`);
      hostileTar(f, kind);
      assert.match((await checkLayerArchive(f)) ?? 'accepted', message, kind);
    }
    writeFileSync(join(dir, 'plain.tar'), 'x'.repeat(2048));
    assert.match((await checkLayerArchive(join(dir, 'plain.tar'))) ?? 'accepted', /not a gzip/);
    assert.equal(await checkLayerArchive(smallTar(dir, 'ok', 'fine')), null);
  });

  it('retention keeps the newest MAXVER versions and never one a configuration uses; deletes refuse used versions', async () => {
    const dataDir = tmpDir('sp-reg-store-');
    const db = openDb(join(dataDir, 'state.db'));
    try {
      const reg = new Registry(db, dataDir, 2);
      const shas: string[] = [];
      for (let i = 1; i <= 2; i++) {
        shas.push(upload(dataDir, smallTar(dataDir, `v${i}`, `version ${i}`)));
        await reg.addVersion('code', `v${i}`, shas[i - 1] as string);
      }
      await reg.addConfig('app', ['code:v1']);
      for (let i = 3; i <= 4; i++) {
        shas.push(upload(dataDir, smallTar(dataDir, `v${i}`, `version ${i}`)));
        assert.deepEqual(await reg.addVersion('code', `v${i}`, shas[i - 1] as string), i === 3 ? ['v2'] : ['v3'], `adding v${i}`);
      }
      // v1 is used by app: kept beyond the limit; v2 and v3 went, with their archives.
      assert.deepEqual(reg.versions('code').map((v) => v.version), ['v1', 'v4']);
      assert.equal(existsSync(registryPaths.layer(dataDir, shas[1] as string)), false);
      assert.equal(existsSync(registryPaths.layer(dataDir, shas[0] as string)), true);
      await assert.rejects(reg.deleteVersion('code', 'v1'), /used by configuration app/);
      await assert.rejects(reg.deleteComponent('code'), /used by configuration app/);
      await assert.rejects(reg.addVersion('code', 'v5', 'b'.repeat(64)), /no upload with sha256/);
      await assert.rejects(reg.addConfig('app2', ['code:v9']), /no version v9 of component code/);
      await assert.rejects(reg.addConfig('../x', ['code:v1']), /bad configuration name/);
      assert.equal(await reg.changeConfig('app', 'code', null), 'v4', 'bumpconf: the newest');
      // v1 is free now, and beyond the limit of 2? No: two versions are left, both within it.
      assert.deepEqual(reg.versions('code').map((v) => v.version), ['v1', 'v4']);
      await reg.deleteVersion('code', 'v1');
      await reg.deleteConfig('app');
      await reg.deleteComponent('code');
      assert.deepEqual(reg.components(), []);
      assert.deepEqual(readdirSync(registryPaths.layers(dataDir)), []);
    } finally {
      db.close();
    }
  });

  it('user ship: keys from HQ ships/*, only sftp allowed, everything else denied', () => {
    const hq = tmpDir('sp-reg-hq-');
    const k = makeKey(hq, 'ship2');
    mkdirSync(join(hq, 'ships'));
    writeFileSync(join(hq, 'ships', 'ship2'), JSON.stringify({ name: 'ship2', clientKey: k.pub.trim() }));
    writeFileSync(join(hq, 'ships', 'broken'), '{');
    const keys = shipKeys(hq);
    const parsed = parseAuthorizedKeyFile(k.pub, 'x');
    assert.ok(parsed.admiral);
    const grants = keys.find(parsed.admiral.blob);
    assert.equal(grants.length, 1);
    assert.equal(grants[0]?.file, 'ships/ship2');
    const id: GateIdentity = { user: 'ship', grants, remoteAddress: '127.0.0.1' };
    assert.equal(authorize(id, { kind: 'sftp' }).allow, true);
    const denied: SshRequest[] = [
      { kind: 'shell' },
      { kind: 'exec', command: 'starphleet status' },
      { kind: 'pty' },
      { kind: 'env', name: 'LANG' },
      { kind: 'scp', command: 'scp -f /registry/configs/x.json', direction: 'download' },
      { kind: 'scp', command: 'scp -t /incoming', direction: 'upload' },
      { kind: 'git-upload-pack', command: "git-upload-pack '/app'" },
      { kind: 'update', command: null },
      { kind: 'subsystem', name: 'x' },
      { kind: 'forward', what: 'direct-tcpip', detail: '127.0.0.1:22' },
    ];
    for (const r of denied) {
      const v = authorize(id, r);
      assert.equal(v.allow, false, JSON.stringify(r));
    }
    // An admiral's key is no ship, and a ship's key no admiral.
    assert.equal(authorize({ user: 'ship', grants: [], remoteAddress: '127.0.0.1' }, { kind: 'sftp' }).allow, false);
  });

  it("the ship view shows only the registry; uploads go only to / and /incoming/", async () => {
    const dataDir = tmpDir('sp-reg-view-');
    mkdirSync(registryPaths.configs(dataDir), { recursive: true });
    mkdirSync(registryPaths.layers(dataDir), { recursive: true });
    mkdirSync(join(dataDir, 'services', 'a'), { recursive: true });
    mkdirSync(join(dataDir, 'data'), { recursive: true });
    writeFileSync(registryPaths.config(dataDir, 'p'), '{}');
    const view = new DeployedView(dataDir, 'ship');
    assert.deepEqual((await view.list('/'))?.map((e) => e.name), ['registry', 'layers']);
    assert.ok(await view.resolve('/registry/configs/p.json', true));
    for (const p of ['/services', '/services/a', '/data', '/configs', '/logs', '/incoming', '/registry/../services']) assert.equal(await view.resolve(p, true), null, p);
    assert.equal(uploadName('/code_v1.tar.gz'), 'code_v1.tar.gz');
    assert.equal(uploadName('/incoming/x'), 'x');
    assert.equal(uploadName('/../x'), 'x');
    for (const p of ['/services', '/data/x', '/registry/layers/x', '/incoming/a/b', '/layers']) assert.equal(uploadName(p), null, p);
  });

  it('orders: registry:<N> and registry://ship:port/<N>#fp=... ; a remote one must pin a fingerprint', () => {
    assert.deepEqual(parseRegistryAutodeploy('registry:project1'), { url: 'registry:project1' });
    const fp = `SHA256:${'A'.repeat(43)}`;
    assert.deepEqual(parseRegistryAutodeploy(`registry://10.0.0.5:2222/project1#fp=${fp}`), { url: `registry://10.0.0.5:2222/project1#fp=${fp}` });
    assert.match((parseRegistryAutodeploy('registry://h/p') as { error: string }).error, /must be pinned/);
    assert.match((parseRegistryAutodeploy('registry:../x') as { error: string }).error, /not a configuration name/);
  });
});
