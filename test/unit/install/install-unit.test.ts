import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readlinkSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { renderUnit, unitWord } from '../../../src/install/unit.js';
import { DEFAULT_SANDBOX_USER } from '../../../src/agent/sandbox/sandbox-user.js';
import { tmpDir } from '../../helpers/tmp.js';
import { CLI_ARGS } from '../../helpers/cli-entry.js';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

function cli(args: readonly string[]): { code: number | null; out: string; err: string } {
  const r = spawnSync(process.execPath, [...CLI_ARGS, ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

/** A root with the account files useradd needs (as a fresh Debian has them), and systemd's own units for verify. */
function fakeRoot(): string {
  const root = tmpDir('sp-install-');
  mkdirSync(join(root, 'etc'));
  writeFileSync(join(root, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/bash\n');
  writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\n');
  writeFileSync(join(root, 'etc', 'shadow'), 'root:*:19000:0:99999:7:::\n', { mode: 0o640 });
  writeFileSync(join(root, 'etc', 'gshadow'), 'root:*::\n', { mode: 0o640 });
  return root;
}

function lines(root: string, file: string): string[] {
  return readFileSync(join(root, file), 'utf8').split('\n').filter(Boolean);
}

/** systemd-analyze verify of the unit as installed under root: its stderr without the noise of the linked systemd tree. */
function verify(root: string, unit: string): { code: number | null; complaints: string[] } {
  mkdirSync(join(root, 'usr', 'lib'), { recursive: true });
  if (!existsSync(join(root, 'usr', 'lib', 'systemd'))) symlinkSync('/usr/lib/systemd', join(root, 'usr', 'lib', 'systemd'));
  const r = spawnSync('systemd-analyze', ['verify', `--root=${root}`, unit], { encoding: 'utf8' });
  return { code: r.status, complaints: r.stderr.split('\n').filter((l) => l && !/Too many levels of symbolic links/.test(l)) };
}

describe('starphleet install / uninstall', { timeout: 900_000 }, () => {
  test('install --root writes the sandbox user, data dir, launcher, settings and a unit systemd accepts', () => {
    const root = fakeRoot();
    const r = cli(['install', '--root', root, '--headquarters', 'https://example.com/hq.git#main']);
    assert.equal(r.code, 0, r.err);
    // The two commands, last.
    assert.match(r.out, /systemctl enable --now starphleet\.service\n {2}journalctl -u starphleet\.service -f\n$/);
    // Every path said where it is written, and the user said to be DIR's only.
    for (const want of [`created data dir ${join(root, 'var/starphleet')}`, `settings in ${join(root, 'etc/starphleet/ship.env')}`, `systemd unit ${join(root, 'etc/systemd/system/starphleet.service')}`, `created system user starphleet in ${join(root, 'etc/passwd')} only (this machine's users are not touched)`])
      assert.ok(r.out.includes(want), `${want}\n${r.out}`);
    assert.match(r.out, new RegExp(`on the machine ${root} is for, start it and at every boot`));
    assert.ok(lines(root, 'etc/passwd').some((l) => /^starphleet:x:\d+:\d+:starphleet sandbox:\/nonexistent:\/usr\/sbin\/nologin$/.test(l)), lines(root, 'etc/passwd').join('\n'));
    assert.ok(lines(root, 'etc/group').some((l) => l.startsWith('starphleet:')));
    assert.equal(DEFAULT_SANDBOX_USER, 'starphleet');
    assert.equal(statSync(join(root, 'var/starphleet')).mode & 0o777, 0o711);
    assert.equal(readlinkSync(join(root, 'var/starphleet/versions/current')), ROOT.replace(/\/$/, ''));
    const launcher = readFileSync(join(root, 'var/starphleet/bin/ship'), 'utf8');
    assert.match(launcher, /^data='\/var\/starphleet'$/m);
    assert.match(readFileSync(join(root, 'etc/starphleet/ship.env'), 'utf8'), /^STARPHLEET_HEADQUARTERS=https:\/\/example\.com\/hq\.git#main$/m);
    const unit = readFileSync(join(root, 'etc/systemd/system/starphleet.service'), 'utf8');
    for (const line of ['Type=notify', 'NotifyAccess=main', 'NoNewPrivileges=yes', 'RestrictSUIDSGID=yes', 'PrivateTmp=yes', 'KillMode=process', 'Restart=on-failure', 'ExecStart=/var/starphleet/bin/ship --http-port 80 --ssh-port 2222', 'EnvironmentFile=-/etc/starphleet/ship.env', 'Environment=STARPHLEET_DATA=/var/starphleet STARPHLEET_SANDBOX_USER=starphleet', 'WantedBy=multi-user.target']) {
      assert.ok(unit.split('\n').includes(line), `${line}\n${unit}`);
    }
    assert.doesNotMatch(unit, /^User=/m, 'the ship itself runs as root');
    const v = verify(root, '/etc/systemd/system/starphleet.service');
    assert.deepEqual(v.complaints, []);
    assert.equal(v.code, 0);
  });

  test('systemd-analyze verify would catch a broken unit (the check above can fail)', () => {
    const root = fakeRoot();
    assert.equal(cli(['install', '--root', root, '--data', '/srv/ship']).code, 0);
    const unit = readFileSync(join(root, 'etc/systemd/system/starphleet.service'), 'utf8');
    writeFileSync(join(root, 'etc/systemd/system/broken.service'), unit.replace('Type=notify', 'Type=sometimes').replace('/srv/ship/bin/ship', '/srv/ship/bin/nothing'));
    const v = verify(root, '/etc/systemd/system/broken.service');
    assert.notEqual(v.code, 0);
    assert.ok(v.complaints.some((l) => /Failed to parse service type/.test(l)), v.complaints.join('\n'));
    assert.ok(v.complaints.some((l) => /\/srv\/ship\/bin\/nothing is not executable/.test(l)), v.complaints.join('\n'));
  });

  test('install again keeps the user and settings; uninstall removes what install made and keeps the data dir', () => {
    const root = fakeRoot();
    assert.equal(cli(['install', '--root', root, '--sandbox-user', 'sp-builds', '--data', '/srv/ship', '--http-port', '8080']).code, 0);
    const env = join(root, 'etc/starphleet/ship.env');
    assert.match(readFileSync(env, 'utf8'), /^#STARPHLEET_HEADQUARTERS=/m);
    writeFileSync(env, `${readFileSync(env, 'utf8')}STARPHLEET_REMOTE=/srv/starphleet.git#main\n`);
    writeFileSync(join(root, 'srv/ship/keep.txt'), 'precious');
    const again = cli(['install', '--root', root, '--sandbox-user', 'sp-builds', '--data', '/srv/ship', '--headquarters', '/srv/hq']);
    assert.equal(again.code, 0, again.err);
    assert.ok(again.out.includes(`system user sp-builds exists in ${join(root, 'etc/passwd')} only (this machine's users are not touched): kept`), again.out);
    assert.match(readFileSync(env, 'utf8'), /^STARPHLEET_HEADQUARTERS=\/srv\/hq$/m);
    assert.match(readFileSync(env, 'utf8'), /^STARPHLEET_REMOTE=\/srv\/starphleet\.git#main$/m, 'the admin\'s line stays');
    assert.equal(lines(root, 'etc/passwd').filter((l) => l.startsWith('sp-builds:')).length, 1);

    const u = cli(['uninstall', '--root', root]);
    assert.equal(u.code, 0, u.err);
    assert.ok(u.out.includes(`kept data dir ${join(root, 'srv/ship')}`), u.out);
    assert.ok(!existsSync(join(root, 'etc/systemd/system/starphleet.service')));
    assert.ok(!existsSync(join(root, 'etc/starphleet')));
    assert.ok(!lines(root, 'etc/passwd').some((l) => l.startsWith('sp-builds:')));
    assert.ok(!lines(root, 'etc/group').some((l) => l.startsWith('sp-builds:')));
    assert.equal(readFileSync(join(root, 'srv/ship/keep.txt'), 'utf8'), 'precious');
    const twice = cli(['uninstall', '--root', root]);
    assert.equal(twice.code, 2);
    assert.match(twice.err, /nothing to uninstall/);
  });

  test('a user that existed before install is not removed; --remove-data deletes the data dir', () => {
    const root = fakeRoot();
    writeFileSync(join(root, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/bash\nbuilder:x:1500:1500::/home/builder:/bin/sh\n');
    writeFileSync(join(root, 'etc/group'), 'root:x:0:\nbuilder:x:1500:\n');
    assert.equal(cli(['install', '--root', root, '--sandbox-user', 'builder']).code, 0);
    const u = cli(['uninstall', '--root', root, '--remove-data']);
    assert.equal(u.code, 0, u.err);
    assert.ok(lines(root, 'etc/passwd').some((l) => l.startsWith('builder:')));
    assert.ok(!existsSync(join(root, 'var/starphleet')));
  });

  test('bad flags name the flag and write nothing', () => {
    const root = fakeRoot();
    for (const [args, re] of [
      [['--sandbox-user', 'Bad User'], /--sandbox-user "Bad User": not a user name/],
      [['--sandbox-user', 'root'], /must be unprivileged/],
      [['--data', 'relative/dir'], /--data "relative\/dir": needs an absolute path/],
      [['--http-port', '99999'], /--http-port "99999": needs a port number/],
      [['--headquarters', 'has space'], /--headquarters "has space"/],
    ] as const) {
      const r = cli(['install', '--root', root, ...args]);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, re);
    }
    assert.ok(!existsSync(join(root, 'etc/systemd')));
    assert.ok(!existsSync(join(root, 'var')));
  });

  test('unit words are quoted and escaped as systemd reads them', () => {
    assert.equal(unitWord('/var/starphleet/bin/ship'), '/var/starphleet/bin/ship');
    assert.equal(unitWord('/srv/my ship'), '"/srv/my ship"');
    assert.equal(unitWord('100%'), '100%%');
    assert.equal(unitWord('$HOME'), '$$HOME');
    assert.throws(() => unitWord('a\nExecStartPre=/bin/evil'), /control characters/);
    const u = renderUnit({ dataDir: '/srv/my ship', sandboxUser: 'starphleet', shipArgs: [], envFile: '/etc/starphleet/ship.env', docs: 'file:///x' });
    assert.match(u, /^ExecStart="\/srv\/my ship\/bin\/ship"$/m);
  });
});
