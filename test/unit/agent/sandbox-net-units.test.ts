import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { sandboxEtc } from '../../../src/agent/sandbox/etc-files.js';
import { installedTool } from '../../../src/agent/sandbox/host-cmd.js';
import { netNames, parseInstanceNet, vethName } from '../../../src/agent/sandbox/net-names.js';
import { parseHostPorts, renderTable } from '../../../src/agent/sandbox/net-rules.js';
import { readRepoFile } from '../../../src/agent/releases/repo-file.js';
import { defaultUids, parseUids, serviceUid } from '../../../src/agent/sandbox/service-users.js';
import { parseDisk } from '../../../src/agent/sandbox/settings.js';
import { tmpDir } from '../../helpers/tmp.js';

describe('names and settings of the direct path', () => {
  test('bridge, table and veth names fit a link name (15 bytes) and differ between data dirs and runs', () => {
    const a = netNames('/var/lib/starphleet');
    const b = netNames('/var/lib/starphleet2');
    assert.notEqual(a.bridge, b.bridge);
    assert.notEqual(a.table, b.table);
    for (const n of [a.bridge, b.bridge, vethName('/d', 'x'), vethName('/d', 'y')]) assert.ok(n.length <= 15, n);
    assert.notEqual(vethName('/d', 'x'), vethName('/d', 'y'));
    assert.notEqual(vethName('/d', 'x'), vethName('/e', 'x'));
  });

  test('STARPHLEET_INSTANCE_NET takes a private subnet, /16 to /28, with no host bits', () => {
    assert.deepEqual(parseInstanceNet('10.99.1.0/24'), { network: '10.99.1.0', prefix: 24 });
    assert.deepEqual(parseInstanceNet(' 172.20.0.0/16 '), { network: '172.20.0.0', prefix: 16 });
    assert.deepEqual(parseInstanceNet('192.168.7.16/28'), { network: '192.168.7.16', prefix: 28 });
    assert.throws(() => parseInstanceNet('8.8.8.0/24'), /not a private range/);
    assert.throws(() => parseInstanceNet('10.0.0.1/24'), /host bits set \(the subnet is 10\.0\.0\.0\/24\)/);
    assert.throws(() => parseInstanceNet('10.0.0.0/8'), /STARPHLEET_INSTANCE_NET must be/);
    assert.throws(() => parseInstanceNet('10.0.0.0/30'), /STARPHLEET_INSTANCE_NET must be/);
    assert.throws(() => parseInstanceNet('ten'), /STARPHLEET_INSTANCE_NET must be/);
  });

  test('STARPHLEET_HOST_PORTS: ports by spaces or commas, none by default; a bad one names the setting', () => {
    assert.deepEqual(parseHostPorts(undefined), []);
    assert.deepEqual(parseHostPorts('  '), []);
    assert.deepEqual(parseHostPorts('5432, 6379 5432'), [5432, 6379]);
    assert.throws(() => parseHostPorts('5432 70000'), /STARPHLEET_HOST_PORTS must list TCP port numbers .* got "70000"/);
    assert.throws(() => parseHostPorts('db'), /STARPHLEET_HOST_PORTS/);
  });

  test('the ship\'s table is what nft accepts (checked, not applied), with and without ship ports and loopback DNS', () => {
    assert.equal(process.getuid?.(), 0, 'nft -c needs root');
    for (const hostPorts of [[], [5432, 6379]]) {
      for (const dnsLoopback of [null, '127.0.0.53']) {
        const text = renderTable({ table: 'starphleet_unitcheck', bridge: 'spbunitcheck', subnet: { network: '10.213.250.0', prefix: 24 }, gateway: '10.213.250.1', hostPorts, dnsLoopback, frontPorts: hostPorts.length > 0 ? [80, 443] : [] });
        const r = spawnSync('nft', ['-c', '-f', '-'], { input: text, encoding: 'utf8' });
        assert.equal(r.status, 0, `${r.stderr}\n${text}`);
      }
    }
    assert.ok(!execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' }).includes('unitcheck'), 'a check applies nothing');
  });

  test('STARPHLEET_DISK is a size of at least 64M', () => {
    assert.equal(parseDisk('2G'), 2 * 1024 ** 3);
    assert.equal(parseDisk('100M'), 100 * 1024 ** 2);
    assert.throws(() => parseDisk('1M'), /STARPHLEET_DISK must be a size between 64M and 16T/);
    assert.throws(() => parseDisk('lots'), /STARPHLEET_DISK/);
  });

  test('a host tool counts as installed when an executable file of its name is on the tools\' PATH', () => {
    for (const tool of ['ip', 'nft', 'bridge', 'nsenter']) assert.equal(installedTool(tool), true, tool);
    assert.equal(installedTool('starphleet-no-such-tool'), false);
    // A folder of that name is no tool: `..` of each PATH entry, and Debian's /usr/bin/X11 (a link to /usr/bin).
    assert.equal(installedTool('..'), false);
    assert.equal(installedTool('X11'), false);
  });
});

describe('a uid per service', () => {
  test('the default block is 65536 uids below 2^31, other for another data dir; STARPHLEET_UIDS is checked', () => {
    const a = defaultUids('/var/lib/a');
    const b = defaultUids('/var/lib/b');
    assert.equal(a.last - a.first + 1, 65536);
    assert.ok(a.first >= 0x60000000 && a.last < 2 ** 31);
    assert.notEqual(a.first, b.first);
    assert.deepEqual(parseUids('200000-265535'), { first: 200000, last: 265535 });
    assert.throws(() => parseUids('0-100'), /STARPHLEET_UIDS must be a range/);
    assert.throws(() => parseUids('3000000000-3000000100'), /STARPHLEET_UIDS/);
  });

  test('a service keeps its uid (recorded), two services never share one', () => {
    const dataDir = tmpDir('sp-uids-');
    const x = serviceUid(dataDir, 'x', {});
    const y = serviceUid(dataDir, 'y', {});
    assert.notEqual(x.uid, y.uid);
    assert.equal(x.uid, x.gid);
    assert.deepEqual(serviceUid(dataDir, 'x', { STARPHLEET_UIDS: '200000-265535' }), x, 'recorded: a later setting does not move it');
    const other = tmpDir('sp-uids-');
    assert.equal(serviceUid(other, 'x', { STARPHLEET_UIDS: '200000-265535' }).uid, 200001);
  });
});

describe('what the root side reads of a built tree', () => {
  test('a plain file is read; a symlink, a fifo, a dir, a big file and a path are refused; none is null', async () => {
    const dir = tmpDir('sp-svcfile-');
    writeFileSync(join(dir, 'Procfile'), 'web: node x.js\n');
    symlinkSync('/etc/shadow', join(dir, 'app.json'));
    execFileSync('mkfifo', [join(dir, 'healthcheck')]);
    mkdirSync(join(dir, '.env'));
    writeFileSync(join(dir, 'big'), Buffer.alloc(1024 * 1024 + 1));
    assert.equal(await readRepoFile(dir, 'Procfile'), 'web: node x.js\n');
    assert.equal(await readRepoFile(dir, 'missing'), null);
    await assert.rejects(readRepoFile(dir, 'app.json'), /app\.json is a symlink: the ship does not follow it/);
    await assert.rejects(readRepoFile(dir, 'healthcheck'), /healthcheck is not a regular file/);
    await assert.rejects(readRepoFile(dir, '.env'), /\.env is not a regular file/);
    await assert.rejects(readRepoFile(dir, 'big'), /big is 1048577 bytes: more than the 1048576 the ship reads/);
    await assert.rejects(readRepoFile(dir, '../Procfile'), /not a file name/);
  });
});

describe('the sandbox\'s own /etc', () => {
  test('passwd names root, nobody and the service\'s uid as app (HOME /app); hosts names ship.internal on the direct path', () => {
    const etc = sandboxEtc({ kind: 'direct', gateway: '10.213.9.1', dnsLoopback: null }, { name: 'x', uid: 1610612737, gid: 1610612737 }, 'svc');
    assert.match(etc.passwd as string, /^app:x:1610612737:1610612737:app:\/app:\/bin\/bash$/m);
    assert.equal((etc.passwd as string).split('\n').filter(Boolean).length, 3);
    assert.match(etc.hosts as string, /^10\.213\.9\.1\tship\.internal$/m);
    assert.match(etc.hosts as string, /^127\.0\.1\.1\tsvc$/m);
    const none = sandboxEtc({ kind: 'none' }, { name: 'x', uid: 1000, gid: 1000 }, 'svc');
    assert.doesNotMatch(none.hosts as string, /ship\.internal/);
  });
});
